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
    }

    [Theory]
    [InlineData(AttentionScorer.Dot, DecoderStyle.Bahdanau, true, true)]
    [InlineData(AttentionScorer.ScaledDot, DecoderStyle.Luong, true, true)]
    [InlineData(AttentionScorer.Dot, DecoderStyle.Luong, false, false)]
    [InlineData(AttentionScorer.General, DecoderStyle.Bahdanau, true, false)]
    [InlineData(AttentionScorer.Dot, DecoderStyle.None, true, false)]
    public void ProjectsDotKeys_BidirectionalDotScorer_ValidAndProjects(AttentionScorer scorer, DecoderStyle decoder, bool bidirectional, bool projects)
    {
        Seq2SeqConfig config = Small(decoder) with { Scorer = scorer, Bidirectional = bidirectional };
        config.Validate();                                                   // every scorer fits every encoder
        Assert.Equal(projects, config.ProjectsDotKeys);
    }
}
