using System.Text.Json;
using SpanAttention.IO;

namespace SpanAttention.Data.Captioning;

/// <summary>Precomputed image features with their captions: what <see cref="FeatureGridFile"/> reads and writes.</summary>
/// <param name="gridHeight">h', rows of each feature grid.</param>
/// <param name="gridWidth">w', columns of each feature grid.</param>
/// <param name="featureSize">D, features per grid cell.</param>
/// <param name="features">(N, h'·w', D) row-major: example n's cell (i, j) starts at (n·h'·w' + i·w' + j)·D, the layout
/// a <see cref="Seq2Seq.EncoderKind.Features"/> model reads as (B, S, F). Held, not copied.</param>
/// <param name="captions">N captions, each as words. Held, not copied.</param>
public sealed class FeatureGrids(int gridHeight, int gridWidth, int featureSize, float[] features, string[][] captions)
{
    /// <summary>h', rows of each feature grid.</summary>
    public int GridHeight { get; } = gridHeight;

    /// <summary>w', columns of each feature grid.</summary>
    public int GridWidth { get; } = gridWidth;

    /// <summary>D, features per grid cell.</summary>
    public int FeatureSize { get; } = featureSize;

    /// <summary>(N, h'·w', D) row-major, every grid one after the other.</summary>
    public float[] Features { get; } = features ?? throw new ArgumentNullException(nameof(features));

    /// <summary>N captions, each as words.</summary>
    public IReadOnlyList<string[]> Captions { get; } = captions ?? throw new ArgumentNullException(nameof(captions));

    /// <summary>N, the number of images.</summary>
    public int Count => Captions.Count;

    /// <summary>S = h'·w', the positions the decoder attends over.</summary>
    public int Positions => GridHeight * GridWidth;

    /// <summary>Example <paramref name="index"/>'s grid, (h'·w', D) row-major.</summary>
    /// <param name="index">0..N-1.</param>
    /// <returns>A view of <see cref="Features"/>.</returns>
    public ReadOnlySpan<float> Grid(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        int size = Positions * FeatureSize;
        return Features.AsSpan(index * size, size);
    }
}

/// <summary>
/// The precomputed-features file of a captioning dataset: a safetensors file holding one F32 tensor
/// <c>features</c> of shape (N, h', w', D) (channels last: cell (i, j) of image n is the D-vector
/// <c>features[n, i, j, :]</c>), and in its metadata <c>captions</c>, a JSON array of N strings whose words are
/// separated by spaces. tools/pytorch/image_features.py writes it from a torchvision ResNet's last convolutional grid.
/// </summary>
/// <remarks>Nothing else is required in the file; other tensors or metadata keys are ignored (e.g. the script records
/// the network and the image size it used under <c>source</c> and <c>image_size</c>). Every problem is one
/// <see cref="DatasetFormatException"/> naming the file and what is wrong.</remarks>
public static class FeatureGridFile
{
    /// <summary>The tensor name of the grids.</summary>
    public const string FeaturesName = "features";

    /// <summary>The metadata key of the captions.</summary>
    public const string CaptionsKey = "captions";

    /// <summary>Reads a features file.</summary>
    /// <param name="path">The safetensors file.</param>
    /// <returns>The grids and captions.</returns>
    /// <exception cref="DatasetFormatException">The file is not a valid features file; the message says why.</exception>
    public static FeatureGrids Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string at = $"features file '{path}'";
        SafeTensorsReader reader;
        try
        {
            reader = SafeTensorsReader.Open(path);
        }
        catch (ModelFileException e)
        {
            throw new DatasetFormatException($"{at}: not a valid safetensors file: {e.Message}", e);
        }
        using (reader)
        {
            if (!reader.Contains(FeaturesName))
            {
                throw new DatasetFormatException($"{at}: has no tensor '{FeaturesName}' (expected F32 of shape (N, h', w', D)).");
            }
            SafeTensorInfo info = reader[FeaturesName];
            if (info.DType != SafeTensorsDType.F32 || info.Shape.Count != 4)
            {
                throw new DatasetFormatException($"{at}: '{FeaturesName}' is {info.DType} {info.ShapeText}; expected F32 of shape (N, h', w', D).");
            }
            foreach (long side in info.Shape)
            {
                if (side < 1)
                {
                    throw new DatasetFormatException($"{at}: '{FeaturesName}' has shape {info.ShapeText}; every dimension must be at least 1.");
                }
            }
            if (info.ElementCount > Array.MaxLength)
            {
                throw new DatasetFormatException($"{at}: '{FeaturesName}' has {info.ElementCount} values, more than one array holds ({Array.MaxLength}).");
            }
            int n = (int)info.Shape[0], h = (int)info.Shape[1], w = (int)info.Shape[2], d = (int)info.Shape[3];
            string[][] captions = ReadCaptions(reader.Metadata, n, at);
            var features = new float[info.ElementCount];
            reader.ReadSingle(FeaturesName, [n, h, w, d], features);
            for (int k = 0; k < features.Length; k++)
            {
                if (!float.IsFinite(features[k]))
                {
                    int cell = k / d;
                    throw new DatasetFormatException($"{at}: feature {k % d} of image {cell / (h * w)} at cell ({cell / w % h}, {cell % w}) is {features[k].ToString(System.Globalization.CultureInfo.InvariantCulture)}, not finite.");
                }
            }
            return new FeatureGrids(h, w, d, features, captions);
        }
    }

    private static string[][] ReadCaptions(IReadOnlyDictionary<string, string> metadata, int n, string at)
    {
        if (!metadata.TryGetValue(CaptionsKey, out string? json))
        {
            throw new DatasetFormatException($"{at}: the metadata has no '{CaptionsKey}' (a JSON array of {n} caption strings).");
        }
        string?[] texts;
        try
        {
            using JsonDocument document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw new DatasetFormatException($"{at}: metadata '{CaptionsKey}' is a JSON {document.RootElement.ValueKind}, not an array of strings.");
            }
            texts = new string?[document.RootElement.GetArrayLength()];
            int k = 0;
            foreach (JsonElement item in document.RootElement.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String)
                {
                    throw new DatasetFormatException($"{at}: metadata '{CaptionsKey}' item {k} is a JSON {item.ValueKind}, not a string.");
                }
                texts[k++] = item.GetString();
            }
        }
        catch (JsonException e)
        {
            throw new DatasetFormatException($"{at}: metadata '{CaptionsKey}' is not valid JSON ({e.Message}).", e);
        }
        if (texts.Length != n)
        {
            throw new DatasetFormatException($"{at}: metadata '{CaptionsKey}' has {texts.Length} captions for {n} feature grids.");
        }
        var captions = new string[n][];
        for (int i = 0; i < n; i++)
        {
            captions[i] = texts[i]?.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries) ?? [];
            if (captions[i].Length == 0)
            {
                throw new DatasetFormatException($"{at}: caption {i} is empty.");
            }
        }
        return captions;
    }

    /// <summary>Writes a features file (what the PyTorch script writes; for tests and for tools that make features in .NET).</summary>
    /// <param name="path">The file to create or replace, atomically.</param>
    /// <param name="grids">The grids and captions.</param>
    public static void Write(string path, FeatureGrids grids)
    {
        ArgumentNullException.ThrowIfNull(grids);
        if (grids.Features.Length != (long)grids.Count * grids.Positions * grids.FeatureSize)
        {
            throw new ArgumentException($"{grids.Features.Length} feature values for (N, h', w', D) = ({grids.Count}, {grids.GridHeight}, {grids.GridWidth}, {grids.FeatureSize}).", nameof(grids));
        }
        var tensor = new SafeTensor(FeaturesName, [grids.Count, grids.GridHeight, grids.GridWidth, grids.FeatureSize], grids.Features);
        var metadata = new Dictionary<string, string>
        {
            [CaptionsKey] = CaptionsJson(grids.Captions),
        };
        AtomicFile.Write(path, stream => SafeTensorsWriter.Write(stream, [tensor], metadata));
    }

    private static string CaptionsJson(IReadOnlyList<string[]> captions)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (string[] words in captions)
            {
                json.WriteStringValue(string.Join(' ', words));
            }
            json.WriteEndArray();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
