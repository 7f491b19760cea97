using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;
using SpanAttention.Parameters;

namespace SpanAttention.IO;

/// <summary>
/// Reads a safetensors file. <see cref="Open(Stream, bool)"/> validates the whole header against the
/// format's rules before anything else happens; tensors are then read straight into caller-owned spans.
/// Every problem is reported as one <see cref="ModelFileException"/> naming what is wrong.
/// </summary>
/// <remarks>
/// Rules checked (in this order): the file has at least 8 bytes; the header length N is at most
/// <see cref="MaxHeaderLength"/>; 8 + N does not run past the end of the file (only then are N bytes
/// allocated); the header is valid UTF-8, starts with <c>{</c> and is valid JSON whose root is an object;
/// no name appears twice (JSON parsers usually keep the last duplicate silently: checked here);
/// <c>__metadata__</c>, if present, is an object of string values; every tensor entry is an object with
/// exactly <c>dtype</c> (a known type), <c>shape</c> (non-negative integers) and <c>data_offsets</c>
/// (two non-negative integers, begin ≤ end); the element count and byte size do not overflow;
/// end − begin equals the byte size; sorted by begin, the first tensor starts at 0 and each starts where
/// the previous ended (no gap, no overlap); and the data buffer is exactly as long as the last end.
/// </remarks>
public sealed class SafeTensorsReader : IDisposable
{
    /// <summary>The largest header length accepted (100,000,000 bytes), as in the reference implementation.</summary>
    public const long MaxHeaderLength = 100_000_000;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly long _dataStart;
    private readonly List<SafeTensorInfo> _tensors;
    private readonly Dictionary<string, SafeTensorInfo> _byName;

    private SafeTensorsReader(Stream stream, bool leaveOpen, long dataStart, List<SafeTensorInfo> tensors, Dictionary<string, string> metadata)
    {
        _stream = stream;
        _leaveOpen = leaveOpen;
        _dataStart = dataStart;
        _tensors = tensors;
        _byName = new Dictionary<string, SafeTensorInfo>(tensors.Count, StringComparer.Ordinal);
        foreach (SafeTensorInfo t in tensors)
        {
            _byName.Add(t.Name, t);
        }
        Metadata = metadata;
    }

    /// <summary>The tensors in header order.</summary>
    public IReadOnlyList<SafeTensorInfo> Tensors => _tensors;

    /// <summary>The <c>__metadata__</c> map (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens and validates a file.</summary>
    /// <param name="path">The file path.</param>
    /// <returns>A reader owning the open file.</returns>
    /// <exception cref="ModelFileException">The file breaks a rule of the format.</exception>
    public static SafeTensorsReader Open(string path)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            return Open(stream, leaveOpen: false);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Validates a file held in a seekable stream, from its current position to its end.</summary>
    /// <param name="stream">A readable, seekable stream.</param>
    /// <param name="leaveOpen">Whether <see cref="Dispose"/> leaves the stream open.</param>
    /// <returns>A reader over the stream.</returns>
    /// <exception cref="ModelFileException">The file breaks a rule of the format.</exception>
    public static SafeTensorsReader Open(Stream stream, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead || !stream.CanSeek)
        {
            throw new ArgumentException("The stream must be readable and seekable.", nameof(stream));
        }
        long start = stream.Position;
        long available = stream.Length - start;
        if (available < 8)
        {
            throw new ModelFileException($"The file has {available} bytes, fewer than the 8-byte header length.");
        }
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n > MaxHeaderLength)
        {
            throw new ModelFileException($"The header length {n} exceeds the limit of {MaxHeaderLength} bytes.");
        }
        if ((long)n > available - 8)
        {
            throw new ModelFileException($"The header length {n} runs past the end of the file ({available} bytes, so at most {available - 8} bytes of header).");
        }
        byte[] header = new byte[(int)n]; // checked above: n <= 100,000,000 and within the file
        stream.ReadExactly(header);
        (List<SafeTensorInfo> tensors, Dictionary<string, string> metadata) = ParseHeader(header);

        long dataLength = available - 8 - (long)n;
        long lastEnd = ValidateLayout(tensors);
        if (dataLength != lastEnd)
        {
            throw new ModelFileException($"The data buffer has {dataLength} bytes, but the tensors end at byte {lastEnd}.");
        }
        return new SafeTensorsReader(stream, leaveOpen, start + 8 + (long)n, tensors, metadata);
    }

    /// <summary>Whether the file holds a tensor with this name.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>True when present.</returns>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>The entry of one tensor.</summary>
    /// <param name="name">The tensor name.</param>
    /// <exception cref="ModelFileException">The file has no such tensor.</exception>
    public SafeTensorInfo this[string name] =>
        _byName.TryGetValue(name, out SafeTensorInfo? info) ? info : throw new ModelFileException($"The file has no tensor '{name}'.");

    /// <summary>Reads one F32 tensor whose shape must be <paramref name="expectedShape"/>.</summary>
    /// <param name="name">The tensor name.</param>
    /// <param name="expectedShape">The shape the caller expects.</param>
    /// <param name="destination">Receives the values: (product of the shape). Overwritten.</param>
    /// <exception cref="ModelFileException">Missing, not F32, or a different shape.</exception>
    public void ReadSingle(string name, IReadOnlyList<int> expectedShape, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(expectedShape);
        SafeTensorInfo info = Check(name, expectedShape);
        if (destination.Length != info.ElementCount)
        {
            throw new ArgumentException($"Tensor '{name}' has {info.ElementCount} elements, the destination {destination.Length}.", nameof(destination));
        }
        ReadData(info, destination);
    }

    /// <summary>
    /// Loads every slot of a layout from the tensors named <paramref name="prefix"/> + slot name. All slots
    /// are checked (present, F32, exact shape) before any value is written, so a mismatch leaves
    /// <paramref name="buffer"/> untouched.
    /// </summary>
    /// <param name="layout">The model's layout.</param>
    /// <param name="buffer">Receives the values: (layout.Count). Overwritten.</param>
    /// <param name="prefix">Name prefix of the tensors (empty for parameters; e.g. <c>"optimizer.exp_avg."</c> for moments).</param>
    /// <exception cref="ModelFileException">A slot is missing, not F32, or has another shape.</exception>
    public void ReadInto(ParameterLayout layout, Span<float> buffer, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(prefix);
        if (buffer.Length != layout.Count)
        {
            throw new ArgumentException($"The buffer has {buffer.Length} elements, the layout {layout.Count}.", nameof(buffer));
        }
        foreach (ParameterSlot slot in layout.Slots)
        {
            Check(prefix + slot.Name, slot.Shape);
        }
        foreach (ParameterSlot slot in layout.Slots)
        {
            ReadData(_byName[prefix + slot.Name], slot.Of(buffer));
        }
    }

    /// <summary>Throws when the file holds a tensor that is not <c>prefix + slot name</c> for one of the prefixes.</summary>
    /// <param name="layout">The model's layout.</param>
    /// <param name="prefixes">The accepted prefixes; none means just the plain slot names.</param>
    /// <exception cref="ModelFileException">An unexpected tensor, named in the message.</exception>
    public void EnsureNoOtherTensors(ParameterLayout layout, params string[] prefixes)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(prefixes);
        string[] accepted = prefixes.Length == 0 ? [""] : prefixes;
        foreach (SafeTensorInfo t in _tensors)
        {
            bool known = false;
            foreach (string p in accepted)
            {
                if (t.Name.StartsWith(p, StringComparison.Ordinal) && layout.TryGet(t.Name.Substring(p.Length), out _))
                {
                    known = true;
                    break;
                }
            }
            if (!known)
            {
                throw new ModelFileException($"The file holds tensor '{t.Name}' {t.ShapeText}, which the model does not have.");
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }
    }

    private SafeTensorInfo Check(string name, IReadOnlyList<int> expectedShape)
    {
        if (!_byName.TryGetValue(name, out SafeTensorInfo? info))
        {
            throw new ModelFileException($"Tensor '{name}' [{string.Join(", ", expectedShape)}] is missing from the file.");
        }
        if (info.DType != SafeTensorsDType.F32)
        {
            throw new ModelFileException($"Tensor '{name}' has dtype {SafeTensorsDTypes.NameOf(info.DType)}, the model expects F32.");
        }
        bool same = info.Shape.Count == expectedShape.Count;
        for (int i = 0; same && i < expectedShape.Count; i++)
        {
            same = info.Shape[i] == expectedShape[i];
        }
        if (!same)
        {
            throw new ModelFileException($"Tensor '{name}' has shape {info.ShapeText}, the model expects [{string.Join(", ", expectedShape)}].");
        }
        return info;
    }

    private void ReadData(SafeTensorInfo info, Span<float> destination)
    {
        _stream.Position = _dataStart + info.Begin;
        try
        {
            _stream.ReadExactly(MemoryMarshal.AsBytes(destination));
        }
        catch (EndOfStreamException e)
        {
            throw new ModelFileException($"Tensor '{info.Name}': the file ended before its data (was it truncated after it was opened?).", e);
        }
        if (!BitConverter.IsLittleEndian)
        {
            Span<int> bits = MemoryMarshal.Cast<float, int>(destination);
            BinaryPrimitives.ReverseEndianness(bits, bits);
        }
    }

    private static (List<SafeTensorInfo>, Dictionary<string, string>) ParseHeader(byte[] header)
    {
        if (!Utf8.IsValid(header))
        {
            throw new ModelFileException("The header is not valid UTF-8.");
        }
        if (header.Length == 0 || header[0] != (byte)'{')
        {
            throw new ModelFileException("The header does not start with '{'.");
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header, new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
        }
        catch (JsonException e)
        {
            throw new ModelFileException($"The header is not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            try
            {
                return ParseRoot(document.RootElement);
            }
            catch (InvalidOperationException e)
            {
                // System.Text.Json parses "\ud800" (a lone surrogate escape) but refuses to turn it into a string.
                throw new ModelFileException($"The header holds a string that is not valid text (a lone surrogate \\u escape): {e.Message}", e);
            }
        }
    }

    private static (List<SafeTensorInfo>, Dictionary<string, string>) ParseRoot(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ModelFileException($"The header is a JSON {root.ValueKind}, not an object.");
        }
        var tensors = new List<SafeTensorInfo>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty property in root.EnumerateObject())
        {
            if (!names.Add(property.Name))
            {
                throw new ModelFileException($"The header names '{property.Name}' twice.");
            }
            if (property.Name == "__metadata__")
            {
                ParseMetadata(property.Value, metadata);
            }
            else
            {
                tensors.Add(ParseTensor(property.Name, property.Value));
            }
        }
        return (tensors, metadata);
    }

    private static void ParseMetadata(JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new ModelFileException($"'__metadata__' is a JSON {value.ValueKind}, not an object of strings.");
        }
        foreach (JsonProperty entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw new ModelFileException($"'__metadata__' entry '{entry.Name}' is a JSON {entry.Value.ValueKind}, not a string.");
            }
            if (!metadata.TryAdd(entry.Name, entry.Value.GetString()!))
            {
                throw new ModelFileException($"'__metadata__' names '{entry.Name}' twice.");
            }
        }
    }

    private static SafeTensorInfo ParseTensor(string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new ModelFileException($"Tensor '{name}': the entry is a JSON {value.ValueKind}, not an object.");
        }
        JsonElement? dtypeValue = null, shapeValue = null, offsetsValue = null;
        foreach (JsonProperty field in value.EnumerateObject())
        {
            ref JsonElement? slot = ref dtypeValue;
            switch (field.Name)
            {
                case "dtype": slot = ref dtypeValue; break;
                case "shape": slot = ref shapeValue; break;
                case "data_offsets": slot = ref offsetsValue; break;
                default: throw new ModelFileException($"Tensor '{name}': unexpected field '{field.Name}'.");
            }
            if (slot is not null)
            {
                throw new ModelFileException($"Tensor '{name}': field '{field.Name}' appears twice.");
            }
            slot = field.Value;
        }
        if (dtypeValue is not { } dtypeElement || shapeValue is not { } shapeElement || offsetsValue is not { } offsetsElement)
        {
            string missing = dtypeValue is null ? "dtype" : shapeValue is null ? "shape" : "data_offsets";
            throw new ModelFileException($"Tensor '{name}': field '{missing}' is missing.");
        }

        if (dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw new ModelFileException($"Tensor '{name}': 'dtype' is a JSON {dtypeElement.ValueKind}, not a string.");
        }
        string dtypeName = dtypeElement.GetString()!;
        if (!SafeTensorsDTypes.TryParse(dtypeName, out SafeTensorsDType dtype))
        {
            throw new ModelFileException($"Tensor '{name}': unknown dtype '{dtypeName}'.");
        }

        if (shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw new ModelFileException($"Tensor '{name}': 'shape' is a JSON {shapeElement.ValueKind}, not an array.");
        }
        var shape = new long[shapeElement.GetArrayLength()];
        ulong count = 1;
        int i = 0;
        foreach (JsonElement d in shapeElement.EnumerateArray())
        {
            ulong dim = ReadIndex(name, "shape", d);
            if (dim > long.MaxValue || (dim != 0 && count > ulong.MaxValue / dim))
            {
                throw new ModelFileException($"Tensor '{name}': the element count of shape {shapeElement.GetRawText()} overflows.");
            }
            count *= dim;
            shape[i++] = (long)dim;
        }
        ulong size = (ulong)SafeTensorsDTypes.SizeOf(dtype);
        if (count > long.MaxValue / size)
        {
            throw new ModelFileException($"Tensor '{name}': the byte size of shape {shapeElement.GetRawText()} overflows.");
        }
        long bytes = (long)(count * size);

        if (offsetsElement.ValueKind != JsonValueKind.Array || offsetsElement.GetArrayLength() != 2)
        {
            throw new ModelFileException($"Tensor '{name}': 'data_offsets' must be an array of two integers, got {offsetsElement.GetRawText()}.");
        }
        ulong begin = ReadIndex(name, "data_offsets", offsetsElement[0]);
        ulong end = ReadIndex(name, "data_offsets", offsetsElement[1]);
        if (begin > long.MaxValue || end > long.MaxValue)
        {
            throw new ModelFileException($"Tensor '{name}': 'data_offsets' [{begin}, {end}] overflow.");
        }
        if (end < begin)
        {
            throw new ModelFileException($"Tensor '{name}': 'data_offsets' end {end} is before begin {begin}.");
        }
        if ((long)(end - begin) != bytes)
        {
            throw new ModelFileException($"Tensor '{name}': 'data_offsets' [{begin}, {end}] span {end - begin} bytes, but shape {shapeElement.GetRawText()} of {SafeTensorsDTypes.NameOf(dtype)} needs {bytes}.");
        }
        return new SafeTensorInfo(name, dtype, shape, (long)begin, (long)end);
    }

    private static ulong ReadIndex(string name, string field, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetUInt64(out ulong result))
        {
            return result;
        }
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long negative) && negative < 0)
        {
            throw new ModelFileException($"Tensor '{name}': '{field}' holds the negative value {negative}.");
        }
        throw new ModelFileException($"Tensor '{name}': '{field}' holds {value.GetRawText()}, not a non-negative integer.");
    }

    /// <summary>Sorted by begin, the tensors must tile [0, last end) with no gap or overlap. Returns the last end.</summary>
    private static long ValidateLayout(List<SafeTensorInfo> tensors)
    {
        var sorted = tensors.ToArray();
        Array.Sort(sorted, static (a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long expected = 0;
        foreach (SafeTensorInfo t in sorted)
        {
            if (t.Begin != expected)
            {
                string what = t.Begin > expected ? "leaves a gap" : "overlaps the previous tensor";
                throw new ModelFileException($"Tensor '{t.Name}' starts at byte {t.Begin}, but the previous tensor ends at {expected}: the data {what}.");
            }
            expected = t.End;
        }
        return expected;
    }
}
