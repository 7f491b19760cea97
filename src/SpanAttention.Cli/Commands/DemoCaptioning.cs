using System.Diagnostics;
using System.Globalization;
using SpanAttention.Attention;
using SpanAttention.Cli.Rendering;
using SpanAttention.Data;
using SpanAttention.Recurrent;
using SpanAttention.Seq2Seq;
using SpanAttention.Training;

namespace SpanAttention.Cli.Commands;

/// <summary>
/// <c>spanattn demo --task shapes</c>: trains the shapes captioning model with <c>train</c>'s defaults (a CNN over
/// 48 x 48 scenes pooled to a 6x6 grid, a GRU decoder with additive attention), captions held-out scenes, draws where
/// each word of one three-object scene looked in the terminal and writes the Show-Attend-Tell figure as SVG.
/// </summary>
internal static class DemoCaptioning
{
    /// <summary>The model file of <c>demo --task shapes</c> when <c>--output</c> is not given.</summary>
    internal static readonly string DefaultOutput = Path.Combine(DemoCommand.OutputFolder, "shapes.safetensors");

    /// <summary>The figure of <c>demo --task shapes</c> when <c>--svg</c> is not given.</summary>
    internal static readonly string DefaultSvg = Path.Combine(DemoCommand.OutputFolder, "shapes-attention.svg");

    /// <summary><c>train --task shapes</c>'s defaults: E=64, H=128, GRU, Bahdanau/additive, Adam 3e-3 x 0.8 per epoch, batch 64, 10 epochs, patience 3.</summary>
    internal static TrainingOptions DefaultSettings(int epochs, int seed, int threads, string output) => new()
    {
        Config = new Seq2SeqConfig
        {
            Cell = RecurrentKind.Gru,
            Decoder = DecoderStyle.Bahdanau,
            Scorer = AttentionScorer.Additive,
            EmbeddingSize = 64,
            HiddenSize = 128,
        },
        BatchSize = 64,
        Epochs = epochs,
        LearningRate = 3e-3f,
        LearningRateDecay = 0.8f,
        ClipNorm = 5f,
        Seed = seed,
        Threads = threads,
        Patience = 3,
        BestModelPath = output,
    };

    internal static int Execute(CliContext context, int epochs, int seed, int threads, string output, string svg, int count, CancellationToken cancellationToken)
    {
        TrainCommand.CheckRange(epochs, 1, 1000, "--epochs");
        TrainCommand.CheckRange(count, 0, 1_000_000, "--count");
        foreach (string path in (ReadOnlySpan<string>)[output, svg])
        {
            if (Path.GetDirectoryName(path) == DemoCommand.OutputFolder)
            {
                Directory.CreateDirectory(DemoCommand.OutputFolder);
            }
        }
        FileChecks.CheckOutputs([], [(output, "model file"), (svg, "attention figure")]);
        var clock = Stopwatch.StartNew();
        TextWriter o = context.Out;
        o.WriteLine("spanattn demo --task shapes: captioning 48 x 48 scenes with a small CNN, a 6x6 grid and additive attention (Show, Attend and Tell)");
        o.WriteLine();
        TrainCaptioning.Execute(context, CaptionDataset.ShapesName, count, null, null, DefaultSettings(epochs, seed, threads, output) with { CheckpointPath = null }, null, cancellationToken);
        o.WriteLine();

        CaptionBundle bundle = CaptionBundle.Load(output, maxBatch: 32);
        CaptionDataset data = CaptionDataset.BuiltIn(CaptionDataset.ShapesName, seed, count);
        ImageCaption[] shown = [.. data.Validation.Take(6)];
        GeneratedCaption[] captions = bundle.Model.Decode([.. shown.Select(x => x.Pixels)]);
        o.WriteLine("held-out scenes (never seen in training):");
        for (int i = 0; i < shown.Length; i++)
        {
            bool ok = captions[i].Text == shown[i].Caption;
            o.WriteLine($"  {captions[i].Text}{(ok ? "" : $"   (expected: {shown[i].Caption})")}");
        }
        o.WriteLine();

        // The longest caption among the first held-out scenes: three objects when there is one.
        int pick = 0;
        for (int i = 1; i < shown.Length; i++)
        {
            pick = captions[i].Words.Count > captions[pick].Words.Count ? i : pick;
        }
        if (captions[pick].Attention is CaptionAttention attention)
        {
            o.WriteLine($"attention, word by word: {captions[pick].Text}");
            o.Write(TerminalImageAttention.Render(attention.Words, attention.Weights, attention.GridHeight, attention.GridWidth, context.Color));
            attention.WriteSvg(svg, captions[pick].Text);
            o.WriteLine($"wrote {svg} (the scene once per word, that word's attention overlaid)");
        }
        o.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"demo finished in {ProgressReporter.Duration(clock.Elapsed)}. Next: spanattn eval {output} --task shapes; spanattn attend {output} IMAGE.png --svg figure.svg"));
        return ExitCodes.Success;
    }
}
