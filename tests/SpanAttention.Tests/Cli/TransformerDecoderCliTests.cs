using System.Text.Json;
using SpanAttention.Cli;
using SpanAttention.Data;
using SpanAttention.IO;
using SpanAttention.Seq2Seq;
using SpanAttention.Training;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary>One tiny full Transformer trained from the CLI (3 epochs, with a log), shared by the tests that read it.</summary>
public sealed class TinyTransformer : IDisposable
{
    private readonly TempFolder _folder = new();

    public TinyTransformer()
    {
        Model = _folder.File("tfm.safetensors");
        Log = _folder.File("tfm.jsonl");
        Result = CliRunner.Run([.. Train(Model, epochs: 3), "--log", Log]);
    }

    /// <summary>A tiny <c>--decoder transformer</c> run on reverse.</summary>
    public static string[] Train(string output, int epochs) => [.. Base(output, epochs), "--heads", "2", "--ff-size", "32", "--layers", "1"];

    /// <summary>The tiny run without the Transformer's sizes (TinyModels.Train without --hidden-size, which it refuses).</summary>
    public static string[] Base(string output, int epochs = 1) =>
    [
        "train", "--task", "reverse", "--count", "600", "--min-length", "3", "--max-length", "6", "--lr", "0.01", "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--embedding-size", "16", "--batch-size", "32", "--threads", "1", "--output", output, "--decoder", "transformer",
    ];

    public string Folder => _folder.Path;

    public string Model { get; }

    public string Log { get; }

    public (int Code, string Out, string Error) Result { get; }

    public void Dispose() => _folder.Dispose();
}

/// <summary><c>train --decoder transformer</c> and the commands on its model: translate, eval, info, attend.</summary>
public sealed class TransformerDecoderCliTests(TinyTransformer tiny) : IClassFixture<TinyTransformer>
{
    [Fact]
    public void Train_DecoderTransformer_LossFallsAndTheFileIsATransformer()
    {
        Assert.True(tiny.Result.Code == 0, tiny.Result.Error);
        string header = CliRunner.Lines(tiny.Result.Error).Single(l => l.Contains("; model ", StringComparison.Ordinal));
        Assert.Contains("model Transformer encoder-decoder x1 E=16 heads=2 F=32 ", header, StringComparison.Ordinal);
        double[] losses = [.. File.ReadAllLines(tiny.Log).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("train_loss").GetDouble())];
        Assert.Equal(3, losses.Length);
        Assert.True(losses[2] < 0.9 * losses[0] && losses[1] < losses[0], $"train loss {string.Join(", ", losses)}");
        TransformerSeq2SeqFileContents file = TransformerSeq2SeqModelFile.Load(tiny.Model);
        Assert.Equal(DecoderStyle.Transformer, file.Model.Config.Decoder);
        Assert.Equal((1, 2, 32), (file.Model.Config.EncoderLayers, file.Model.Config.Heads, file.Model.Config.FeedForwardSize));
    }

    [Fact]
    public void Translate_ModelFile_SameOutputAsTheTrainedModelInProcess()
    {
        using var folder = new TempFolder();
        string path = folder.File("s.safetensors");
        Dataset data = Reverse.Create(new ReverseOptions { Count = 600, MinLength = 3, MaxLength = 6, Seed = 1 });
        var session = new TrainingSession(data, new TrainingOptions
        {
            Config = new Seq2SeqConfig { Encoder = EncoderKind.Transformer, Decoder = DecoderStyle.Transformer, EmbeddingSize = 16, Heads = 2, FeedForwardSize = 32 },
            Epochs = 2, LearningRate = 0.01f, BatchSize = 32, Threads = 1, BestModelPath = path,
        });
        TrainingResult result = session.Run();
        string[] inputs = ["a b c", "d e f g", "h a"];
        List<int[]> sources = HeldOutEvaluation.Encode([.. inputs.Select(i => new SentencePair(i, i))], result.Source, result.Target).Sources;
        string[] greedy = [.. SpanAttention.Transformer.TransformerDecoding.Greedy(result.Transformer!, sources, 16).Select(h => string.Join(' ', result.Target.Decode(h.Tokens)))];
        string beam = string.Join(' ', result.Target.Decode(SpanAttention.Transformer.TransformerDecoding.Beam(result.Transformer!, sources[1], 3, 16)[0].Tokens));

        (int code, string output, string error) = CliRunner.Run(["translate", path, "--max-length", "16", .. inputs]);
        (int beamCode, string beamOutput, string beamError) = CliRunner.Run("translate", path, "--beam", "3", "--max-length", "16", inputs[1]);

        Assert.True(code == 0, error);
        Assert.Equal(greedy, CliRunner.Lines(output));
        Assert.True(beamCode == 0, beamError);
        Assert.Equal(beam, CliRunner.Lines(beamOutput).Single());
    }

    [Fact]
    public void Eval_TransformerModel_PrintsTheTableOfTheTestSplit()
    {
        (int code, string output, string error) = CliRunner.Run("eval", tiny.Model);

        Assert.True(code == 0, error);
        Assert.Contains("test split", output, StringComparison.Ordinal);
        Assert.Contains("exact match %", output, StringComparison.Ordinal);
        Assert.Contains("tfm.safetensors", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_TransformerModel_ShowsTheArchitectureAndTheDecoderLayers()
    {
        (int code, string output, _) = CliRunner.Run("info", tiny.Model);

        Assert.Equal(0, code);
        Assert.Contains("spanattention.architecture: transformer-seq2seq", output, StringComparison.Ordinal);
        Assert.Contains("spanattention.config.Decoder: Transformer", output, StringComparison.Ordinal);
        Assert.Contains("decoder.layers.0.multihead_attn.in_proj_weight", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--head", "2", "--head 2 is not a head of")]
    [InlineData("--head", "-1", "--head -1 is not a head of")]
    public void Attend_HeadOutOfRange_OneClearLine(string option, string value, string message)
    {
        (int code, string output, string error) = CliRunner.Run("attend", tiny.Model, "a b c", option, value);

        Assert.Equal(ExitCodes.Usage, code);
        CliRunner.AssertOneErrorLine(error, message);
        Assert.Contains("it has 2 heads, 0 to 1", error, StringComparison.Ordinal);
        Assert.Equal("", output);
    }

    [Fact]
    public void Attend_HeadAndSelfAttention_DrawTheirHeatmaps()
    {
        using var folder = new TempFolder();
        string svg = folder.File("self.svg");
        (int code, string output, string error) = CliRunner.Run("attend", tiny.Model, "a b c", "--head", "1", "--color", "never");
        (int selfCode, string selfOutput, string selfError) = CliRunner.Run("attend", tiny.Model, "a b c", "--self-attention", "--svg", svg, "--color", "never");

        Assert.True(code == 0, error);
        Assert.Contains("weight:", output, StringComparison.Ordinal);
        Assert.True(selfCode == 0, selfError);
        string[] lines = CliRunner.Lines(selfOutput);
        Assert.Contains(lines, l => l.StartsWith("<eos>", StringComparison.Ordinal));      // the source tokens are the rows too
        Assert.Contains("encoder self-attention", File.ReadAllText(svg), StringComparison.Ordinal);
    }

    [Fact]
    public void Attend_HeadOnARecurrentModel_OneClearLine()
    {
        using var folder = new TempFolder();
        string recurrent = folder.File("r.safetensors");
        Assert.Equal(0, CliRunner.Run(TinyModels.Train(recurrent)).Code);
        (int code, _, string error) = CliRunner.Run("attend", recurrent, "a b c", "--head", "0");

        Assert.Equal(ExitCodes.Usage, code);
        CliRunner.AssertOneErrorLine(error, "--head applies to a Transformer encoder-decoder");
    }

    [Fact]
    public void Align_MeanOfTheHeads_IsTheCachedDecodingsAlignment()
    {
        using TranslationModel model = TranslationModel.Load(tiny.Model);
        Alignment averaged = model.Align("a b c d");
        var mean = new float[averaged.Weights.Length];
        for (int h = 0; h < model.AttentionHeads; h++)
        {
            ReadOnlySpan<float> one = model.Align("a b c d", h).Weights;
            for (int i = 0; i < mean.Length; i++)
            {
                mean[i] += one[i] / model.AttentionHeads;
            }
        }

        ReadOnlySpan<float> teacherForcedMean = model.Align("a b c d", -1).Weights;

        Assert.Equal(2, model.AttentionHeads);
        Assert.Equal(averaged.TargetTokens, model.Align("a b c d", 0).TargetTokens);
        for (int i = 0; i < mean.Length; i++)
        {
            Assert.Equal(averaged.Weights[i], mean[i], 1e-5f);
            Assert.Equal(averaged.Weights[i], teacherForcedMean[i], 1e-5f);
        }
    }

    [Fact]
    public void Train_Resume_SameModelAsOneUninterruptedRun()
    {
        using var folder = new TempFolder();
        string straight = folder.File("straight.safetensors"), resumed = folder.File("resumed.safetensors");
        (int a, _, string aError) = CliRunner.Run(TinyTransformer.Train(straight, epochs: 2));
        (int b, _, string bError) = CliRunner.Run(TinyTransformer.Train(resumed, epochs: 1));
        (int c, _, string cError) = CliRunner.Run([.. TinyTransformer.Train(resumed, epochs: 2), "--resume", TrainCommandPaths.Checkpoint(resumed)]);

        Assert.True(a == 0 && b == 0 && c == 0, aError + bError + cError);
        Assert.Contains("resuming", cError, StringComparison.Ordinal);
        Assert.DoesNotContain("epoch 1/2", cError, StringComparison.Ordinal);
        float[] first = TransformerSeq2SeqModelFile.Load(straight).Model.Parameters.Values;
        float[] second = TransformerSeq2SeqModelFile.Load(resumed).Model.Parameters.Values;
        Assert.Equal(first, second);
    }

    [Fact]
    public void Train_ResumeARecurrentCheckpoint_OneErrorLine()
    {
        using var folder = new TempFolder();
        string recurrent = folder.File("r.safetensors");
        Assert.Equal(0, CliRunner.Run(TinyModels.Train(recurrent)).Code);
        string checkpoint = TrainCommandPaths.Checkpoint(recurrent);
        (int code, _, string error) = CliRunner.Run([.. TinyTransformer.Train(folder.File("t.safetensors"), epochs: 2), "--resume", checkpoint]);

        Assert.Equal(1, code);
        string line = CliRunner.Lines(error).Single(l => l.StartsWith("spanattn: error: ", StringComparison.Ordinal));
        Assert.Contains("cannot resume", line, StringComparison.Ordinal);
        Assert.Contains("recurrent-decoder", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--heads 3", "--embedding-size 16 is not divisible by --heads 3")]
    [InlineData("--heads 0", "--heads must be between 1 and 256, got 0.")]
    [InlineData("--dropout 0.1", "--dropout does not apply to --decoder transformer")]
    [InlineData("--teacher-forcing 0.5", "--teacher-forcing does not apply to --decoder transformer")]
    [InlineData("--hidden-size 8", "--hidden-size does not apply to --decoder transformer")]
    [InlineData("--encoder recurrent", "--decoder transformer reads a Transformer encoder's memory")]
    [InlineData("--attention-reg 1", "--attention-reg needs an attention decoder with one attention per step")]
    [InlineData("--layers 0", "--layers must be between 1 and 8, got 0.")]
    public void Train_BadDecoderTransformerOption_OneClearUsageError(string extra, string message)
    {
        using var folder = new TempFolder();
        string model = folder.File("t.safetensors");
        string[] args = TinyTransformer.Base(model);
        foreach (string[] pair in extra.Split(' ').Chunk(2))
        {
            args = TinyModels.With(args, pair[0], pair[1]);
        }
        (int code, string output, string error) = CliRunner.Run(args);

        Assert.Equal(ExitCodes.Usage, code);
        CliRunner.AssertOneErrorLine(error, message);
        Assert.DoesNotContain("training on", error, StringComparison.Ordinal);
        Assert.Equal("", output);
        Assert.Empty(Directory.GetFiles(folder.Path));
    }
}

/// <summary>The checkpoint path <c>train</c> writes beside its output.</summary>
internal static class TrainCommandPaths
{
    public static string Checkpoint(string output) => SpanAttention.Cli.Commands.TrainCommand.CheckpointPath(output);
}
