using SpanAttention.Attention;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Tests.Seq2Seq;

/// <summary>Synthetic data for the model tests: random token sequences and their reversal.</summary>
internal static class Seq2SeqTestData
{
    /// <summary>A small bidirectional GRU model with additive attention (V = 12, E = 8, H = 16, A = 8).</summary>
    public static Seq2SeqConfig Small(DecoderStyle style = DecoderStyle.Bahdanau) => new()
    {
        SourceVocabSize = 12,
        TargetVocabSize = 12,
        EmbeddingSize = 8,
        HiddenSize = 16,
        AttentionSize = 8,
        Decoder = style,
        Bidirectional = true,
        Scorer = AttentionScorer.Additive,
    };

    /// <summary><paramref name="count"/> reversal pairs of lengths 2..7, bucketed into batches of at most 8 rows.</summary>
    public static List<Seq2SeqBatch> Batches(Seq2SeqConfig config, int count, ulong seed)
    {
        var (src, tgt) = Reverse(count, 2, 7, 9, 3, seed);
        return Seq2SeqBatch.Bucketed(src, tgt, 8, config.PaddingId, config.BosId, config.EosId);
    }

    /// <summary>Pairs (x, reverse(x)) with tokens in [firstToken, firstToken + symbols) and lengths in [minLen, maxLen].</summary>
    public static (List<int[]> Sources, List<int[]> Targets) Reverse(int count, int minLen, int maxLen, int symbols, int firstToken, ulong seed)
    {
        var rng = new SplitMix64(seed);
        var sources = new List<int[]>(count);
        var targets = new List<int[]>(count);
        for (int i = 0; i < count; i++)
        {
            int n = minLen + rng.Next(maxLen - minLen + 1);
            var x = new int[n];
            for (int j = 0; j < n; j++)
            {
                x[j] = firstToken + rng.Next(symbols);
            }
            var y = (int[])x.Clone();
            Array.Reverse(y);
            sources.Add(x);
            targets.Add(y);
        }
        return (sources, targets);
    }

    /// <summary>A small ragged batch for gradient checks (lengths differ per row so masking is exercised).</summary>
    public static Seq2SeqBatch TinyBatch(Seq2SeqConfig config, ulong seed)
    {
        var rng = new SplitMix64(seed);
        int[] srcLens = [4, 2, 3];
        int[] tgtLens = [2, 3, 1];
        var sources = new List<int[]>();
        var targets = new List<int[]>();
        for (int b = 0; b < srcLens.Length; b++)
        {
            var x = new int[srcLens[b]];
            for (int j = 0; j < x.Length; j++)
            {
                x[j] = 1 + rng.Next(config.SourceVocabSize - 1);
            }
            var y = new int[tgtLens[b]];
            for (int j = 0; j < y.Length; j++)
            {
                y[j] = 3 + rng.Next(config.TargetVocabSize - 3);
            }
            sources.Add(x);
            targets.Add(y);
        }
        return Seq2SeqBatch.FromSequences(sources, targets, config.PaddingId, config.BosId, config.EosId);
    }
}
