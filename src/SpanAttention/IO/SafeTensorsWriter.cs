using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace SpanAttention.IO;

/// <summary>
/// Writes the safetensors format: an 8-byte little-endian header length N, N bytes of UTF-8 JSON padded
/// with spaces to a multiple of 8, then every tensor's F32 values back to back (little-endian, row-major),
/// in the order given.
/// </summary>
public static class SafeTensorsWriter
{
    /// <summary>Writes a whole file to a stream.</summary>
    /// <param name="stream">The destination, positioned where the file starts.</param>
    /// <param name="tensors">The tensors, written in this order; names must be unique and not <c>__metadata__</c>.</param>
    /// <param name="metadata">The optional <c>__metadata__</c> string-to-string map (e.g. the model configuration as JSON text).</param>
    /// <exception cref="ArgumentException">A name is empty or repeated, or a shape does not match its values.</exception>
    public static void Write(Stream stream, IReadOnlyList<SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] header = BuildHeader(tensors, metadata);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (SafeTensor tensor in tensors)
        {
            WriteFloats(stream, tensor.Values.Span);
        }
    }

    /// <summary>The JSON header, already padded with spaces to a multiple of 8 bytes. Validates the tensors.</summary>
    internal static byte[] BuildHeader(IReadOnlyList<SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is not null)
            {
                json.WriteStartObject("__metadata__");
                foreach (KeyValuePair<string, string> pair in metadata)
                {
                    ArgumentNullException.ThrowIfNull(pair.Value, $"metadata['{pair.Key}']");
                    json.WriteString(pair.Key, pair.Value);
                }
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (SafeTensor tensor in tensors)
            {
                ArgumentNullException.ThrowIfNull(tensor);
                if (string.IsNullOrEmpty(tensor.Name) || tensor.Name == "__metadata__")
                {
                    throw new ArgumentException($"Invalid tensor name '{tensor.Name}'.", nameof(tensors));
                }
                if (!names.Add(tensor.Name))
                {
                    throw new ArgumentException($"Tensor '{tensor.Name}' is listed twice.", nameof(tensors));
                }
                long count = 1;
                foreach (int d in tensor.Shape)
                {
                    if (d < 0)
                    {
                        throw new ArgumentException($"Tensor '{tensor.Name}' has a negative dimension in [{string.Join(", ", tensor.Shape)}].", nameof(tensors));
                    }
                    count = checked(count * d);
                }
                if (count != tensor.Values.Length)
                {
                    throw new ArgumentException($"Tensor '{tensor.Name}' has shape [{string.Join(", ", tensor.Shape)}] ({count} elements) but {tensor.Values.Length} values.", nameof(tensors));
                }
                long end = offset + count * sizeof(float);
                json.WriteStartObject(tensor.Name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (int d in tensor.Shape)
                {
                    json.WriteNumberValue(d);
                }
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(end);
                json.WriteEndArray();
                json.WriteEndObject();
                offset = end;
            }
            json.WriteEndObject();
        }
        int length = (int)buffer.Length;
        int padded = (length + 7) & ~7;
        byte[] header = new byte[padded];
        buffer.GetBuffer().AsSpan(0, length).CopyTo(header);
        header.AsSpan(length).Fill((byte)' ');
        return header;
    }

    private static void WriteFloats(Stream stream, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        Span<byte> chunk = stackalloc byte[1024];
        while (!values.IsEmpty)
        {
            int n = Math.Min(values.Length, chunk.Length / sizeof(float));
            for (int i = 0; i < n; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(chunk.Slice(i * sizeof(float)), values[i]);
            }
            stream.Write(chunk.Slice(0, n * sizeof(float)));
            values = values.Slice(n);
        }
    }
}
