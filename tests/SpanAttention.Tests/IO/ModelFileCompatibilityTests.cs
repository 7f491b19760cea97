using SpanAttention.Data;
using SpanAttention.Inference;
using SpanAttention.IO;
using Xunit;

namespace SpanAttention.Tests.IO;

/// <summary>
/// A model file written by an earlier main (TestData/models/README.md) still loads and translates to the outputs,
/// scores and attention weights recorded when it was written.
/// </summary>
public sealed class ModelFileCompatibilityTests
{
    internal static string FixturePath => Path.Combine(AppContext.BaseDirectory, "TestData", "models", "hi-en-main-905a389.safetensors");

    internal static readonly string[] Sentences = ["मैं खाना खा रहा हूँ", "औरत बगीचे में खेली", "लड़का किताब पढ़ता है", "मैं xyz खा रहा हूँ"];

    internal static readonly string[] Greedy = ["i am eating food", "the woman played in the garden", "the boy reads a book", "i am eating"];

    private static readonly int[][] GreedyIds = [[20, 61, 31, 43], [4, 40, 72, 5, 4, 16], [4, 42, 79, 7, 59], [20, 61, 31]];

    private static readonly float[] GreedyScores = [-0.0066843033f, -0.6346264f, -0.012807846f, -0.054293633f];

    // (T, S) = (4, 6) alignment of मैं खाना खा रहा हूँ <eos> → i am eating food.
    private static readonly float[] FirstAlignment =
    [
        0.99643576f, 0.00076545926f, 0.00031617653f, 2.7063772E-06f, 0.0024778917f, 2.0633338E-06f,
        0.0005321706f, 0.0009090896f, 0.0024786766f, 0.00012055551f, 0.99593806f, 2.1540292E-05f,
        2.5395959E-05f, 0.030615693f, 0.96768963f, 0.0011421242f, 0.0002014393f, 0.00032576403f,
        8.590108E-08f, 0.99151576f, 0.0069964053f, 0.0005656686f, 8.830741E-05f, 0.000833779f,
    ];

    // The source position each output token attends to most.
    private static readonly int[][] AlignmentArgMax = [[0, 4, 2, 1], [0, 0, 3, 2, 4, 2], [0, 0, 2, 1, 1], [0, 4, 2]];

    [Fact]
    public void Load_FileWrittenByEarlierMain_DecodesToRecordedIdsScoresAndAlignments()
    {
        Seq2SeqModelFileContents file = Seq2SeqModelFile.Load(FixturePath, maxBatch: 32);
        Assert.Equal("{\"SourceVocabSize\":139,\"TargetVocabSize\":87,\"EmbeddingSize\":12,\"HiddenSize\":24,\"Cell\":\"Gru\",\"EncoderLayers\":1,\"Bidirectional\":false,\"Decoder\":\"Bahdanau\",\"Scorer\":\"Additive\",\"AttentionSize\":0,\"Dropout\":0,\"PaddingId\":0,\"BosId\":1,\"EosId\":2}",
            file.Model.Config.ToJson());
        Assert.Equal("{\"task\":\"hi-en\",\"data\":null,\"tokens\":\"word\",\"seed\":1,\"count\":0,\"min_length\":0,\"max_length\":0}", file.Metadata[Seq2SeqModelFile.TaskKey]);
        Assert.Equal(-91.7705903072274, file.Model.Parameters.Values.Sum(v => (double)v), 1e-9);
        (Vocabulary source, Vocabulary target) = file.ReadVocabularies();
        var unknown = new List<string>();
        int[][] sources = [.. Sentences.Select(s => (int[])[.. source.EncodeText(s, unknown), Vocabulary.EosId])];
        Assert.Equal(["xyz"], unknown);

        Hypothesis[] greedy = new Translator(file.Model).Greedy(sources, 30);
        for (int i = 0; i < Sentences.Length; i++)
        {
            Assert.Equal(Greedy[i], target.DecodeText(greedy[i].Tokens));
            Assert.Equal(GreedyIds[i], greedy[i].Tokens);
            Assert.Equal(GreedyScores[i], greedy[i].Score, 1e-4f);
            Assert.True(greedy[i].Finished);
            int s = sources[i].Length;
            Assert.Equal(s, greedy[i].SourceLength);
            Assert.Equal(AlignmentArgMax[i].Length * s, greedy[i].Alignment.Length);
            for (int t = 0; t < AlignmentArgMax[i].Length; t++)
            {
                Assert.Equal(AlignmentArgMax[i][t], System.Numerics.Tensors.TensorPrimitives.IndexOfMax(greedy[i].Alignment.AsSpan(t * s, s)));
            }
        }
        for (int j = 0; j < FirstAlignment.Length; j++)
        {
            Assert.Equal(FirstAlignment[j], greedy[0].Alignment[j], 1e-4f);
        }
    }

    [Fact]
    public void TranslationModel_FileWrittenByEarlierMain_TranslatesToRecordedOutputs()
    {
        using var model = TranslationModel.Load(FixturePath);
        Assert.Equal(Greedy, model.Translate(Sentences));
        Translation[] all = model.Decode(Sentences);
        for (int i = 0; i < Sentences.Length; i++)
        {
            Assert.Equal(Greedy[i], all[i].Text);
            Assert.Equal(GreedyIds[i].Select(id => model.TargetVocabulary[id]), all[i].Tokens);
            Assert.Equal(GreedyScores[i], all[i].Score, 1e-4f);
            Assert.Equal(all[i].Score, all[i].NormalizedScore);
            Assert.True(all[i].Finished);
            Alignment alignment = Assert.IsType<Alignment>(all[i].Alignment);
            Assert.Equal([.. all[i].SourceTokens, "<eos>"], alignment.SourceTokens);
            Assert.Equal(all[i].Tokens, alignment.TargetTokens);
            Assert.Equal(AlignmentArgMax[i], Enumerable.Range(0, alignment.TargetTokens.Count).Select(alignment.MostAttended));
        }
        Assert.Equal(["मैं", "xyz", "खा", "रहा", "हूँ"], all[3].SourceTokens);
        Assert.Equal(["xyz"], all[3].UnknownTokens);
        Assert.All(all.Take(3), t => Assert.Empty(t.UnknownTokens));
        Alignment first = model.Align(Sentences[0]);
        for (int j = 0; j < FirstAlignment.Length; j++)
        {
            Assert.Equal(FirstAlignment[j], first[j / 6, j % 6], 1e-4f);
        }
    }

    [Fact]
    public void TranslationModel_FileWrittenByEarlierMain_BeamSearchGivesRecordedNBest()
    {
        using var model = TranslationModel.Load(FixturePath);
        Translation[] first = model.NBest(Sentences[0], 3, new DecodingOptions { BeamWidth = 4, MaxLength = 20 });
        Assert.Equal(["i am eating food", "i am drinking food", "i are eating food"], first.Select(t => t.Text));
        Assert.Equal([-0.0066843033f, -7.3545885f, -7.724186f], first.Select(t => t.Score), (a, b) => Math.Abs(a - b) < 1e-4f);
        Assert.Equal([-0.0016710758f, -1.8386471f, -1.9310465f], first.Select(t => t.NormalizedScore), (a, b) => Math.Abs(a - b) < 1e-4f);
        Translation[] third = model.NBest(Sentences[2], 3, new DecodingOptions { MaxLength = 20 });
        Assert.Equal(["the boy reads a book", "the boy read a book", "the boy reads a book book"], third.Select(t => t.Text));
        Assert.Equal([-0.0025615692f, -1.2324812f, -1.2411133f], third.Select(t => t.NormalizedScore), (a, b) => Math.Abs(a - b) < 1e-4f);
        Assert.All(first.Concat(third), t => Assert.True(t.Finished));
        Assert.All(first.Concat(third), t => Assert.Empty(t.UnknownTokens));
    }
}
