using SpanAttention.Parameters;

namespace SpanAttention.IO;

/// <summary>
/// Saves and loads a model's parameters as a safetensors file with PyTorch state_dict names, atomically.
/// </summary>
public static class ModelFile
{
    /// <summary>
    /// Saves the parameters (one tensor per slot, named and shaped as the slot), optional extra tensors
    /// (e.g. optimizer moments under other names) and the <c>__metadata__</c> map, atomically.
    /// </summary>
    /// <param name="path">The destination file; replaced only once the new file is complete on disk.</param>
    /// <param name="layout">The model's layout.</param>
    /// <param name="values">The parameter values: (layout.Count).</param>
    /// <param name="metadata">Optional string-to-string metadata (e.g. the configuration as JSON text).</param>
    /// <param name="extra">Optional further tensors, written after the parameters.</param>
    public static void Save(string path, ParameterLayout layout, ReadOnlyMemory<float> values,
        IReadOnlyDictionary<string, string>? metadata = null, IReadOnlyList<SafeTensor>? extra = null)
    {
        IReadOnlyList<SafeTensor> tensors = SafeTensor.FromLayout(layout, values);
        if (extra is { Count: > 0 })
        {
            tensors = [.. tensors, .. extra];
        }
        Save(path, tensors, metadata);
    }

    /// <summary>Saves tensors and metadata as a safetensors file, atomically.</summary>
    /// <param name="path">The destination file; replaced only once the new file is complete on disk.</param>
    /// <param name="tensors">The tensors, in file order.</param>
    /// <param name="metadata">Optional string-to-string metadata.</param>
    /// <remarks>
    /// Writes a temporary file in the same directory, flushes it to disk, then renames it over
    /// <paramref name="path"/>. On any failure the temporary file is deleted and the previous file at
    /// <paramref name="path"/> is left as it was.
    /// </remarks>
    public static void Save(string path, IReadOnlyList<SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        SaveAtomic(path, stream => SafeTensorsWriter.Write(stream, tensors, metadata));
    }

    /// <summary>
    /// Loads every parameter of <paramref name="layout"/> from a safetensors file, after validating the
    /// file and checking every slot (present, F32, exact shape).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="layout">The model's layout.</param>
    /// <param name="values">Receives the values: (layout.Count). Untouched if any check fails.</param>
    /// <param name="ignoreExtra">Accept tensors the model does not have (otherwise they are an error).</param>
    /// <returns>The file's <c>__metadata__</c> map.</returns>
    /// <exception cref="ModelFileException">The file is malformed or does not match the layout.</exception>
    public static IReadOnlyDictionary<string, string> Load(string path, ParameterLayout layout, Span<float> values, bool ignoreExtra = false)
    {
        ArgumentNullException.ThrowIfNull(layout);
        using SafeTensorsReader reader = SafeTensorsReader.Open(path);
        if (!ignoreExtra)
        {
            reader.EnsureNoOtherTensors(layout);
        }
        reader.ReadInto(layout, values);
        return reader.Metadata;
    }

    /// <summary>Writes a file through <paramref name="write"/> into a temporary sibling, flushes it to disk and renames it over <paramref name="path"/>.</summary>
    /// <param name="path">The destination.</param>
    /// <param name="write">Writes the content.</param>
    /// <param name="wrap">Test hook: wraps the file stream (e.g. to fail mid-write).</param>
    internal static void SaveAtomic(string path, Action<Stream> write, Func<Stream, Stream>? wrap = null) =>
        AtomicFile.Write(path, write, wrap);
}
