using System.Text.Json;
using SpanAttention.IO;
using SpanAttention.Parameters;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.IO;

public class ModelFileTests
{
    private static string DataPath(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "io", name);

    /// <summary>nn.GRU(4, 6) as `rnn` + nn.Linear(6, 3) as `out`, in state_dict order (see tools/pytorch/write_safetensors.py).</summary>
    private static ParameterLayout GruLinearLayout()
    {
        var layout = new ParameterLayout();
        layout.Add("rnn.weight_ih_l0", 18, 4);
        layout.Add("rnn.weight_hh_l0", 18, 6);
        layout.Add("rnn.bias_ih_l0", 18);
        layout.Add("rnn.bias_hh_l0", 18);
        layout.Add("out.weight", 3, 6);
        layout.Add("out.bias", 3);
        return layout;
    }

    private sealed class TempDirectory : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("sa-io-").FullName;

        public string File(string name) => System.IO.Path.Combine(Path, name);

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }

    /// <summary>Passes writes through until <c>limit</c> bytes, then throws, as a full disk or a crash would.</summary>
    private sealed class FailingStream(Stream inner, int limit) : Stream
    {
        private int _written;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_written + buffer.Length > limit)
            {
                inner.Write(buffer[..(limit - _written)]);
                throw new IOException("simulated failure mid-write");
            }
            inner.Write(buffer);
            _written += buffer.Length;
        }
    }

    [Fact]
    public void SaveLoad_RoundTrip_RestoresValuesMetadataAndExtraTensors()
    {
        using var dir = new TempDirectory();
        ParameterLayout layout = GruLinearLayout();
        float[] values = Numerics.Random(layout.Count, 1);
        float[] moments = Numerics.Random(layout.Count, 2);
        var metadata = new Dictionary<string, string> { ["config"] = "{\"hidden\": 6}", ["vocab"] = "a b c ü 日本" };
        string path = dir.File("model.safetensors");

        ModelFile.Save(path, layout, values, metadata, SafeTensor.FromLayout(layout, moments, "optimizer.exp_avg."));

        float[] loaded = new float[layout.Count];
        ModelFileException extra = Assert.Throws<ModelFileException>(() => ModelFile.Load(path, layout, loaded));
        Assert.Contains("'optimizer.exp_avg.rnn.weight_ih_l0'", extra.Message, StringComparison.Ordinal);
        IReadOnlyDictionary<string, string> read = ModelFile.Load(path, layout, loaded, ignoreExtra: true);
        Numerics.AssertEqual(values, loaded, "values");
        Assert.Equal(metadata, read);

        using SafeTensorsReader reader = SafeTensorsReader.Open(path);
        reader.EnsureNoOtherTensors(layout, "", "optimizer.exp_avg.");
        float[] loadedMoments = new float[layout.Count];
        reader.ReadInto(layout, loadedMoments, "optimizer.exp_avg.");
        Numerics.AssertEqual(moments, loadedMoments, "moments");
        Assert.Equal(2 * layout.Slots.Count, reader.Tensors.Count);
    }

    [Fact]
    public void Write_Header_IsPaddedWithSpacesToAMultipleOf8()
    {
        ParameterLayout layout = GruLinearLayout();
        using var stream = new MemoryStream();
        SafeTensorsWriter.Write(stream, SafeTensor.FromLayout(layout, new float[layout.Count]), new Dictionary<string, string> { ["k"] = "v" });
        byte[] file = stream.ToArray();
        long n = BitConverter.ToInt64(file, 0);
        Assert.Equal(0, n % 8);
        Assert.Equal((byte)'{', file[8]);
        Assert.Equal(8 + n + layout.Count * 4, file.Length);
        string header = System.Text.Encoding.UTF8.GetString(file, 8, (int)n);
        string json = header.TrimEnd(' ');
        Assert.EndsWith("}", json, StringComparison.Ordinal);
        Assert.InRange(header.Length - json.Length, 0, 7);
        using JsonDocument doc = JsonDocument.Parse(header);
        Assert.Equal("v", doc.RootElement.GetProperty("__metadata__").GetProperty("k").GetString());
    }

    [Fact]
    public void Write_ShapeNotMatchingValues_ThrowsNamingTheTensor()
    {
        var tensors = new[] { new SafeTensor("w", [2, 3], new float[5]) };
        ArgumentException e = Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(new MemoryStream(), tensors));
        Assert.Contains("'w'", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(new MemoryStream(), [new SafeTensor("a", [1], new float[1]), new SafeTensor("a", [1], new float[1])]));
    }

    [Fact]
    public void Load_ShapeMismatch_ThrowsNamingTensorAndBothShapesAndLeavesValuesUntouched()
    {
        using var dir = new TempDirectory();
        var saved = new ParameterLayout();
        saved.Add("encoder.rnn.bias", 3);
        saved.Add("encoder.rnn.weight_ih_l0", 12, 5);
        string path = dir.File("m.safetensors");
        ModelFile.Save(path, saved, Numerics.Random(saved.Count, 3));

        var model = new ParameterLayout();
        model.Add("encoder.rnn.bias", 3);
        model.Add("encoder.rnn.weight_ih_l0", 12, 4);
        float[] values = new float[model.Count];
        values.AsSpan().Fill(7f);
        ModelFileException e = Assert.Throws<ModelFileException>(() => ModelFile.Load(path, model, values));
        Assert.Equal("Tensor 'encoder.rnn.weight_ih_l0' has shape [12, 5], the model expects [12, 4].", e.Message);
        Assert.All(values, v => Assert.Equal(7f, v));
    }

    [Fact]
    public void Load_MissingOrExtraTensor_ThrowsNamingIt()
    {
        using var dir = new TempDirectory();
        var saved = new ParameterLayout();
        saved.Add("a", 2);
        saved.Add("b", 2);
        string path = dir.File("m.safetensors");
        ModelFile.Save(path, saved, new float[4]);

        var wantsC = new ParameterLayout();
        wantsC.Add("a", 2);
        wantsC.Add("b", 2);
        wantsC.Add("c", 1);
        Assert.Contains("'c' [1] is missing", Assert.Throws<ModelFileException>(() => ModelFile.Load(path, wantsC, new float[5])).Message, StringComparison.Ordinal);

        var onlyA = new ParameterLayout();
        onlyA.Add("a", 2);
        Assert.Contains("'b' [2], which the model does not have", Assert.Throws<ModelFileException>(() => ModelFile.Load(path, onlyA, new float[2])).Message, StringComparison.Ordinal);
        ModelFile.Load(path, onlyA, new float[2], ignoreExtra: true);
    }

    [Fact]
    public void Load_WrongDType_ThrowsNamingIt()
    {
        using var dir = new TempDirectory();
        string path = dir.File("m.safetensors");
        File.WriteAllBytes(path, SafeTensorsReaderTests.Craft("{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16));
        var layout = new ParameterLayout();
        layout.Add("a", 2);
        Assert.Equal("Tensor 'a' has dtype F64, the model expects F32.", Assert.Throws<ModelFileException>(() => ModelFile.Load(path, layout, new float[2])).Message);
    }

    [Fact]
    public void Save_StreamFailsMidWrite_KeepsPreviousFileAndLeavesNoTemporary()
    {
        using var dir = new TempDirectory();
        string path = dir.File("model.safetensors");
        ParameterLayout layout = GruLinearLayout();
        float[] first = Numerics.Random(layout.Count, 4);
        ModelFile.Save(path, layout, first);
        byte[] before = File.ReadAllBytes(path);

        float[] second = Numerics.Random(layout.Count, 5);
        IReadOnlyList<SafeTensor> tensors = SafeTensor.FromLayout(layout, second);
        IOException e = Assert.Throws<IOException>(() =>
            ModelFile.SaveAtomic(path, s => SafeTensorsWriter.Write(s, tensors), s => new FailingStream(s, 500)));
        Assert.Equal("simulated failure mid-write", e.Message);

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["model.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
        float[] loaded = new float[layout.Count];
        ModelFile.Load(path, layout, loaded);
        Numerics.AssertEqual(first, loaded);
    }

    [Fact]
    public void Save_BadArgumentsOrUnwritableTarget_KeepsPreviousFileAndLeavesNoTemporary()
    {
        using var dir = new TempDirectory();
        string path = dir.File("model.safetensors");
        ParameterLayout layout = GruLinearLayout();
        ModelFile.Save(path, layout, Numerics.Random(layout.Count, 6));
        byte[] before = File.ReadAllBytes(path);

        Assert.Throws<ArgumentException>(() => ModelFile.Save(path, [new SafeTensor("w", [2], new float[3])]));
        Assert.Equal(before, File.ReadAllBytes(path));

        string target = dir.File("is-a-directory");
        Directory.CreateDirectory(target);
        Assert.ThrowsAny<IOException>(() => ModelFile.Save(target, layout, new float[layout.Count]));
        Assert.True(Directory.Exists(target));

        Assert.ThrowsAny<IOException>(() => ModelFile.Save(Path.Combine(dir.Path, "no-such-dir", "m.safetensors"), layout, new float[layout.Count]));
        Assert.Equal(["model.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void Load_FileWrittenByPyTorch_MatchesItsStateDict()
    {
        ParameterLayout layout = GruLinearLayout();
        float[] values = new float[layout.Count];
        IReadOnlyDictionary<string, string> metadata = ModelFile.Load(DataPath("pytorch_gru_linear.safetensors"), layout, values);
        Assert.Equal("pt", metadata["format"]);
        using JsonDocument config = JsonDocument.Parse(metadata["config"]);
        Assert.Equal(6, config.RootElement.GetProperty("hidden").GetInt32());

        using JsonDocument expected = JsonDocument.Parse(File.ReadAllText(DataPath("pytorch_gru_linear.json")));
        JsonElement tensors = expected.RootElement.GetProperty("tensors");
        Assert.Equal(layout.Slots.Count, tensors.EnumerateObject().Count());
        foreach (ParameterSlot slot in layout.Slots)
        {
            JsonElement t = tensors.GetProperty(slot.Name);
            Assert.Equal(slot.Shape, t.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
            float[] want = t.GetProperty("values").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
            Numerics.AssertEqual(want, slot.Of((ReadOnlySpan<float>)values), slot.Name);
        }
    }

    /// <summary>
    /// The writer reproduces, byte for byte, the committed file that tools/pytorch/write_safetensors.py --verify
    /// loads into nn.GRU + nn.Linear with load_state_dict(strict=True). Set SPANATTENTION_WRITE_GOLDEN to a
    /// path to regenerate it.
    /// </summary>
    [Fact]
    public void ModelFile_WrittenFile_MatchesCommittedGolden()
    {
        using var dir = new TempDirectory();
        ParameterLayout layout = GruLinearLayout();
        float[] values = new float[layout.Count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (i % 97) / 64f - 0.75f;
        }
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["config"] = "{\"input\":4,\"hidden\":6,\"output\":3}" };
        string path = dir.File("csharp.safetensors");
        ModelFile.Save(path, layout, values, metadata);
        string? regenerate = Environment.GetEnvironmentVariable("SPANATTENTION_WRITE_GOLDEN");
        if (!string.IsNullOrEmpty(regenerate))
        {
            File.Copy(path, regenerate, overwrite: true);
        }
        Assert.Equal(File.ReadAllBytes(DataPath("csharp_gru_linear.safetensors")), File.ReadAllBytes(path));
    }
}
