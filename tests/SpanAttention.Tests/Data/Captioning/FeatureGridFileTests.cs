using System.Text.Json;
using SpanAttention.Data;
using SpanAttention.Data.Captioning;
using SpanAttention.IO;
using Xunit;

namespace SpanAttention.Tests.Data.Captioning;

/// <summary>
/// The precomputed-features file: the file tools/pytorch/image_features.py --golden wrote (a tiny random CNN over
/// TestData/images) read back value for value, a write/read round trip, and one named error per malformed file.
/// </summary>
public sealed class FeatureGridFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("features-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static string Golden(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "captioning", name);

    [Fact]
    public void Load_PyTorchGolden_EveryValueAndCaption()
    {
        FeatureGrids grids = FeatureGridFile.Load(Golden("tiny_features.safetensors"));
        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(Golden("tiny_features.json")));
        int[] shape = json.RootElement.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(shape, new[] { grids.Count, grids.GridHeight, grids.GridWidth, grids.FeatureSize });
        Assert.Equal([2, 4, 4, 8], shape);
        Assert.Equal(["a", "colour", "gradient"], grids.Captions[0]);
        Assert.Equal(["a", "grey", "ramp"], grids.Captions[1]);
        float[] values = json.RootElement.GetProperty("values").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(values.Length, grids.Features.Length);
        for (int i = 0; i < values.Length; i++)
        {
            Assert.True(Math.Abs(values[i] - grids.Features[i]) <= 1e-6f, $"[{i}]: {values[i]} vs {grids.Features[i]}");
        }
        Assert.Contains(grids.Features, v => v > 0); // the ReLU grid is not all zero
    }

    [Fact]
    public void Write_ThenLoad_SameGridsAndCaptions()
    {
        var features = new float[3 * 2 * 5 * 4];
        for (int i = 0; i < features.Length; i++)
        {
            features[i] = (i % 13) - 6.5f;
        }
        var grids = new FeatureGrids(2, 5, 4, features, [["one"], ["two", "\"quoted\""], ["हिंदी", "words"]]);
        string path = Path.Combine(_folder, "f.safetensors");
        FeatureGridFile.Write(path, grids);
        FeatureGrids back = FeatureGridFile.Load(path);
        Assert.Equal((2, 5, 4, 3), (back.GridHeight, back.GridWidth, back.FeatureSize, back.Count));
        Assert.Equal(features, back.Features);
        Assert.Equal(grids.Captions, back.Captions);
        Assert.Equal(10, back.Positions);
    }

    private string File_(IReadOnlyList<SafeTensor> tensors, Dictionary<string, string>? metadata)
    {
        string path = Path.Combine(_folder, $"{Guid.NewGuid():N}.safetensors");
        using (FileStream stream = File.Create(path))
        {
            SafeTensorsWriter.Write(stream, tensors, metadata);
        }
        return path;
    }

    private static string ErrorOf(string path) => Assert.Throws<DatasetFormatException>(() => FeatureGridFile.Load(path)).Message;

    private static SafeTensor Features(params int[] shape)
    {
        var values = new float[shape.Aggregate(1, (a, b) => a * b)];
        return new SafeTensor("features", shape, values);
    }

    [Fact]
    public void Load_MalformedFiles_NameTheFileAndWhatIsWrong()
    {
        var twoCaptions = new Dictionary<string, string> { ["captions"] = "[\"a b\", \"c\"]" };
        string path = File_([new SafeTensor("grid", [1], new float[1])], twoCaptions);
        Assert.Equal($"features file '{path}': has no tensor 'features' (expected F32 of shape (N, h', w', D)).", ErrorOf(path));
        Assert.Contains("is F32 [2, 3, 4]; expected F32 of shape (N, h', w', D)", ErrorOf(File_([Features(2, 3, 4)], twoCaptions)));
        Assert.Contains("the metadata has no 'captions'", ErrorOf(File_([Features(2, 1, 1, 1)], null)));
        Assert.Contains("has 2 captions for 3 feature grids", ErrorOf(File_([Features(3, 1, 1, 1)], twoCaptions)));
        Assert.Contains("is a JSON Object, not an array", ErrorOf(File_([Features(2, 1, 1, 1)], new() { ["captions"] = "{}" })));
        Assert.Contains("item 1 is a JSON Number", ErrorOf(File_([Features(2, 1, 1, 1)], new() { ["captions"] = "[\"a\", 3]" })));
        Assert.Contains("is not valid JSON", ErrorOf(File_([Features(2, 1, 1, 1)], new() { ["captions"] = "[\"a\"" })));
        Assert.Contains("caption 1 is empty", ErrorOf(File_([Features(2, 1, 1, 1)], new() { ["captions"] = "[\"a\", \"  \"]" })));

        var nan = new float[2 * 2 * 3 * 2];
        nan[(((1 * 2 * 3) + (1 * 3) + 2) * 2) + 1] = float.NaN; // image 1, cell (1, 2), feature 1
        Assert.Contains("feature 1 of image 1 at cell (1, 2) is NaN", ErrorOf(File_([new SafeTensor("features", [2, 2, 3, 2], nan)], twoCaptions)));

        string junk = Path.Combine(_folder, "junk.safetensors");
        File.WriteAllBytes(junk, [1, 2, 3]);
        Assert.Contains("not a valid safetensors file", ErrorOf(junk));
    }
}
