using SpanAttention.Attention;
using SpanAttention.Recurrent;
using SpanAttention.Seq2Seq;
using Xunit;
using static SpanAttention.Tests.Seq2Seq.Seq2SeqTestData;

namespace SpanAttention.Tests.Seq2Seq;

/// <summary>The model configuration: JSON round trip and validation.</summary>
public sealed class Seq2SeqConfigTests
{
    [Fact]
    public void Config_JsonRoundTrip_Equal()
    {
        Seq2SeqConfig config = Small(DecoderStyle.Luong) with { Cell = RecurrentKind.Lstm, EncoderLayers = 2 };
        Assert.Equal(config, Seq2SeqConfig.FromJson(config.ToJson()));
        Assert.Throws<FormatException>(() => Seq2SeqConfig.FromJson("{\"SourceVocabSize\": 3}"));
        Assert.Throws<ArgumentException>(() => (config with { Scorer = AttentionScorer.Dot, Decoder = DecoderStyle.Bahdanau }).Validate());
    }
}
