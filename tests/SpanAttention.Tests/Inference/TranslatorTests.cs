using SpanAttention.Inference;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Seq2Seq;
using Xunit;
using static SpanAttention.Tests.Seq2Seq.Seq2SeqTestData;

namespace SpanAttention.Tests.Inference;

/// <summary>The thread-safe translator.</summary>
public sealed class TranslatorTests
{
    [Fact]
    public void Translator_ManyThreads_IdenticalToSingleThreaded()
    {
        Seq2SeqConfig config = Small(DecoderStyle.Luong);
        var model = new Seq2SeqModel(config, 4, 8, 12, seed: 8);
        var (sources, _) = Seq2SeqTestData.Reverse(24, 2, 7, 9, 3, 17);
        var translator = new Translator(model);
        Assert.Same(model.Parameters, translator.Weights?.Parameters); // prepared from this model's parameters
        Hypothesis[] expectedGreedy = [.. sources.Select(s => Decoding.Greedy(model, [s], 10, translator.Weights)[0])];
        Hypothesis[][] expectedBeam = [.. sources.Select(s => Decoding.Beam(model, s, 3, 10, weights: translator.Weights))];
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 4 * sources.Count, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            int k = i % sources.Count;
            Hypothesis g = translator.Greedy([sources[k]], 10)[0];
            Hypothesis[] b = translator.Beam(sources[k], 3, 10);
            if (!g.Tokens.SequenceEqual(expectedGreedy[k].Tokens) || !g.Alignment.SequenceEqual(expectedGreedy[k].Alignment)
                || b.Length != expectedBeam[k].Length || !b.Zip(expectedBeam[k]).All(p => p.First.Tokens.SequenceEqual(p.Second.Tokens) && p.First.Score == p.Second.Score))
            {
                failures.Add($"source {k}");
            }
        });
        Assert.Empty(failures);
    }
}
