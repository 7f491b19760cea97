using System.Text.Json;
using SpanAttention.Attention;
using SpanAttention.Data;
using SpanAttention.Inference;
using SpanAttention.IO;
using SpanAttention.Recurrent;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Cli;
using Xunit;

namespace SpanAttention.Tests.IO;

/// <summary>
/// Model files shared with PyTorch (tools/pytorch/spanattention_pytorch.py, docs/model-format.md), against committed
/// outputs so that CI needs no PyTorch. <c>pytorch_*.safetensors</c> were trained and written by the PyTorch module;
/// <c>spanattn_*.safetensors</c> were written by <c>spanattn train</c> (the arguments are in each JSON file) and
/// decoded by the PyTorch module. Each JSON file holds what PyTorch (float64 from the float32 parameters) gives for a
/// list of inputs translated in one call: the source ids, greedy tokens, texts, scores, whether each output reached
/// &lt;eos&gt;, and the teacher-forced loss of the batch (sources, greedy outputs), with the default step limit and
/// with <c>--max-length 4</c>. The smallest top-1/top-2 logit margin on those paths is at least 1.5e-3, far above
/// float32 rounding, so the arg-max decisions must agree exactly.
/// Regenerate: <c>/usr/bin/python3 tools/pytorch/spanattention_pytorch.py interop</c>.
/// </summary>
public sealed class InteropTests
{
    // The recurrent-decoder styles (the Transformer decoder is another model, with its own file table and tests).
    private static readonly DecoderStyle[] RecurrentDecoders = [.. Enum.GetValues<DecoderStyle>().Where(d => d != DecoderStyle.Transformer)];

    public static TheoryData<string> Cases() => [.. CaseNames()];

    /// <summary>Every committed case: the JSON files of TestData/interop except tokenization.json.</summary>
    private static string[] CaseNames() =>
        [.. Directory.GetFiles(Folder, "*.json").Select(Path.GetFileNameWithoutExtension).Where(n => n != "tokenization").Order(StringComparer.Ordinal)!];

    private static string Folder => Path.Combine(AppContext.BaseDirectory, "TestData", "interop");

    [Fact]
    public void Cases_CoverEveryCellDecoderAndScorer()
    {
        string[] names = CaseNames();
        var configs = names.Select(n => Load(n).Config).ToList();
        Assert.True(configs.Count >= 10, $"{configs.Count} cases");
        Assert.Equal(Enum.GetValues<RecurrentKind>().Order(), configs.Select(c => c.Cell).Distinct().Order());
        Assert.Equal(RecurrentDecoders.Order(), configs.Select(c => c.Decoder).Distinct().Order());
        Assert.Equal(Enum.GetValues<AttentionScorer>().Order(),
            configs.Where(c => c.Decoder != DecoderStyle.None).Select(c => c.Scorer).Distinct().Order());
        Assert.Contains(configs, c => c.Bidirectional && c.EncoderLayers == 1);
        Assert.Contains(configs, c => c.Bidirectional && c.EncoderLayers == 2);
        Assert.Contains(configs, c => !c.Bidirectional && c.EncoderLayers == 2);
        Assert.Contains(names, n => n.StartsWith("pytorch_", StringComparison.Ordinal));
        Assert.Contains(names, n => n.StartsWith("spanattn_", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Load_CommittedFile_ConfigurationAndVocabulariesAsRecorded(string name)
    {
        Case c = Load(name);
        Seq2SeqModelFileContents loaded = Seq2SeqModelFile.Load(c.ModelPath, maxBatch: 32);
        Assert.Equal(c.Config, loaded.Model.Config);
        Vocabulary source = Vocabulary.FromJson(loaded.SourceVocabJson!);
        Vocabulary target = Vocabulary.FromJson(loaded.TargetVocabJson!);
        Assert.Equal(c.Config.SourceVocabSize, source.Count);
        Assert.Equal(c.Config.TargetVocabSize, target.Count);
        Assert.True(new FileInfo(c.ModelPath).Length < 100_000, "committed model files stay small");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Greedy_CommittedFile_SameTokensScoresAndLossAsPyTorch(string name)
    {
        Case c = Load(name);
        Seq2SeqModelFileContents loaded = Seq2SeqModelFile.Load(c.ModelPath, maxBatch: 32);
        Seq2SeqModel model = loaded.Model;
        Vocabulary source = Vocabulary.FromJson(loaded.SourceVocabJson!);
        Vocabulary target = Vocabulary.FromJson(loaded.TargetVocabJson!);
        InferenceWeights prepared = model.PrepareInference();
        foreach (Expected e in c.Runs)
        {
            // tokenisation, <unk> and the appended <eos> as spanattn translate does them
            var unknown = new List<string>();
            List<int[]> sources = [.. e.Inputs.Select(text => Source(source, text, unknown))];
            Assert.Equal(e.SourceIds, sources);
            Assert.Equal(e.Unknown, unknown);

            // one call over the whole list (the plain path's batched GEMMs), then row by row on the prepared path
            Hypothesis[] batched = Decoding.Greedy(model, sources, e.StepLimit);
            Hypothesis[] single = [.. sources.Select(x => Decoding.Greedy(model, [x], e.StepLimit, prepared)[0])];
            foreach (Hypothesis[] hs in new[] { batched, single })
            {
                for (int i = 0; i < hs.Length; i++)
                {
                    string where = $"{name} (limit {e.StepLimit}) input '{e.Inputs[i]}'";
                    Assert.True(e.Tokens[i].SequenceEqual(hs[i].Tokens), $"{where}: tokens [{string.Join(' ', hs[i].Tokens)}], PyTorch [{string.Join(' ', e.Tokens[i])}]");
                    Assert.Equal(e.Translations[i], target.DecodeText(hs[i].Tokens));
                    Assert.Equal(e.Finished[i], hs[i].Finished);
                    Assert.True(Math.Abs(hs[i].Score - e.Scores[i]) <= 1e-4 + 1e-5 * Math.Abs(e.Scores[i]), $"{where}: score {hs[i].Score} vs PyTorch {e.Scores[i]}");
                }
            }

            // the teacher-forced loss on the greedy outputs: every logit of every step enters it
            var batch = Seq2SeqBatch.FromSequences(sources, e.Tokens, c.Config.PaddingId, c.Config.BosId, c.Config.EosId);
            model.EnsureCapacity(model.MaxBatch, batch.SourceLength, batch.TargetLength);
            float loss = model.Forward(batch);
            Assert.True(Math.Abs(loss - e.Loss) <= 1e-5 * Math.Abs(e.Loss) + 1e-6, $"{name}: loss {loss} vs PyTorch {e.Loss}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TranslateCommand_CommittedFile_PrintsPyTorchTranslations(string name)
    {
        Case c = Load(name);
        foreach (Expected e in c.Runs)
        {
            string[] args = e.MaxLength > 0
                ? ["translate", c.ModelPath, "--max-length", e.MaxLength.ToString(System.Globalization.CultureInfo.InvariantCulture), .. e.Inputs]
                : ["translate", c.ModelPath, .. e.Inputs];
            (int code, string stdout, string stderr) = CliRunner.Run(args);
            Assert.True(code == 0, stderr);
            string[] lines = stdout.Split('\n');
            Assert.Equal("", lines[^1]);
            Assert.Equal(e.Translations, lines[..^1]);
            Assert.Equal(e.Unknown.Count > 0, stderr.Contains("<unk>", StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// docs/model-format.md's tensor table, restated: names, order and shapes for every cell, 1 to 3 layers, both
    /// directions, every decoder and scorer, with A = H and A ≠ H. A layout change must change the document too.
    /// </summary>
    [Fact]
    public void Layout_EveryArchitecture_IsTheDocumentedTensorTable()
    {
        int checkedConfigs = 0;
        foreach (RecurrentKind cell in Enum.GetValues<RecurrentKind>())
        {
            foreach (int layers in new[] { 1, 2, 3 })
            {
                foreach (bool bidirectional in new[] { false, true })
                {
                    foreach (DecoderStyle decoder in RecurrentDecoders)
                    {
                        foreach (AttentionScorer scorer in Enum.GetValues<AttentionScorer>())
                        {
                            foreach (int attentionSize in new[] { 0, 5 })
                            {
                                if (bidirectional && decoder != DecoderStyle.None && scorer is AttentionScorer.Dot or AttentionScorer.ScaledDot)
                                {
                                    continue;
                                }
                                var config = new Seq2SeqConfig
                                {
                                    SourceVocabSize = 9, TargetVocabSize = 7, EmbeddingSize = 4, HiddenSize = 6, Cell = cell, EncoderLayers = layers,
                                    Bidirectional = bidirectional, Decoder = decoder, Scorer = scorer, AttentionSize = attentionSize,
                                };
                                var model = new Seq2SeqModel(config, 1, 1, 1);
                                Assert.Equal(DocumentedTensors(config), model.Layout.Slots.Select(s => (s.Name, string.Join(",", s.Shape))));
                                checkedConfigs++;
                            }
                        }
                    }
                }
            }
        }
        Assert.Equal(3 * 3 * (2 * 3 * 4 + 2 * 3 * 4 - 2 * 2 * 2), checkedConfigs);   // cells × layers × (uni + bi less Dot/ScaledDot with attention)
    }

    private static List<(string Name, string Shape)> DocumentedTensors(Seq2SeqConfig c)
    {
        int e = c.EmbeddingSize, h = c.HiddenSize, nd = c.Bidirectional ? 2 : 1;
        int g = c.Cell switch { RecurrentKind.Rnn => 1, RecurrentKind.Gru => 3, _ => 4 };
        int a = c.AttentionSize > 0 ? c.AttentionSize : h, denc = nd * h;
        int dc = c.Decoder == DecoderStyle.None ? h : denc;
        int i = c.Decoder == DecoderStyle.Luong ? e + h : e + dc;
        int o = c.Decoder == DecoderStyle.Luong ? h : h + dc;
        var t = new List<(string, string)>();
        void Add(string name, params int[] shape) => t.Add((name, string.Join(",", shape)));
        Add("encoder.embedding.weight", c.SourceVocabSize, e);
        for (int k = 0; k < c.EncoderLayers; k++)
        {
            foreach (string suffix in nd == 2 ? new[] { "", "_reverse" } : [""])
            {
                Add($"encoder.rnn.weight_ih_l{k}{suffix}", g * h, k == 0 ? e : nd * h);
                Add($"encoder.rnn.weight_hh_l{k}{suffix}", g * h, h);
                Add($"encoder.rnn.bias_ih_l{k}{suffix}", g * h);
                Add($"encoder.rnn.bias_hh_l{k}{suffix}", g * h);
            }
        }
        if (nd == 2)
        {
            Add("bridge.weight", h, 2 * h);
            Add("bridge.bias", h);
        }
        Add("decoder.embedding.weight", c.TargetVocabSize, e);
        if (c.Decoder != DecoderStyle.None && c.Scorer == AttentionScorer.General)
        {
            Add("decoder.attention.W.weight", h, denc);
        }
        if (c.Decoder != DecoderStyle.None && c.Scorer == AttentionScorer.Additive)
        {
            Add("decoder.attention.W_q.weight", a, h);
            Add("decoder.attention.W_k.weight", a, denc);
            Add("decoder.attention.W_k.bias", a);
            Add("decoder.attention.v.weight", 1, a);
        }
        Add("decoder.cell.weight_ih", g * h, i);
        Add("decoder.cell.weight_hh", g * h, h);
        Add("decoder.cell.bias_ih", g * h);
        Add("decoder.cell.bias_hh", g * h);
        if (c.Decoder == DecoderStyle.Luong)
        {
            Add("decoder.combine.weight", h, dc + h);
        }
        Add("decoder.out.weight", c.TargetVocabSize, o);
        Add("decoder.out.bias", c.TargetVocabSize);
        return t;
    }

    [Fact]
    public void Tokenize_PyTorchModuleCases_SameTokens()
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "tokenization.json")));
        int n = 0;
        foreach (JsonElement item in doc.RootElement.EnumerateArray())
        {
            Assert.True(Tokenizer.TryParse(item.GetProperty("tokenization").GetString(), out Tokenization mode));
            string text = item.GetProperty("text").GetString()!;
            string[] expected = [.. item.GetProperty("tokens").EnumerateArray().Select(x => x.GetString()!)];
            Assert.Equal(expected, Tokenizer.Tokenize(text, mode));
            n++;
        }
        Assert.True(n >= 10);
    }

    /// <summary>ModelBundle.EncodeSource: tokens (unknown to &lt;unk&gt;), then &lt;eos&gt;.</summary>
    private static int[] Source(Vocabulary vocabulary, string text, List<string> unknown)
    {
        string[] tokens = Tokenizer.Tokenize(text, vocabulary.Tokenization);
        var ids = new int[tokens.Length + 1];
        for (int i = 0; i < tokens.Length; i++)
        {
            if (!vocabulary.TryGetId(tokens[i], out ids[i]))
            {
                unknown.Add(tokens[i]);
            }
        }
        ids[^1] = Vocabulary.EosId;
        return ids;
    }

    private sealed record Expected(string[] Inputs, int MaxLength, int StepLimit, List<string> Unknown, int[][] SourceIds,
        string[] Translations, int[][] Tokens, double[] Scores, bool[] Finished, double Loss);

    private sealed record Case(string ModelPath, Seq2SeqConfig Config, Expected[] Runs);

    private static Case Load(string name)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, name + ".json")));
        JsonElement root = doc.RootElement;
        string model = Path.Combine(Folder, root.GetProperty("model").GetString()!);
        Seq2SeqConfig config = Seq2SeqConfig.FromJson(root.GetProperty("config").GetRawText());
        return new Case(model, config, [ReadRun(root.GetProperty("default")), ReadRun(root.GetProperty("max_length_4"))]);
    }

    private static Expected ReadRun(JsonElement e)
    {
        static string[] Strings(JsonElement a) => [.. a.EnumerateArray().Select(x => x.GetString()!)];
        static int[][] IntRows(JsonElement a) => [.. a.EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetInt32()).ToArray())];
        return new Expected(
            Strings(e.GetProperty("inputs")),
            e.GetProperty("max_length").GetInt32(),
            e.GetProperty("step_limit").GetInt32(),
            [.. Strings(e.GetProperty("unknown_tokens"))],
            IntRows(e.GetProperty("source_ids")),
            Strings(e.GetProperty("translations")),
            IntRows(e.GetProperty("tokens")),
            [.. e.GetProperty("scores").EnumerateArray().Select(x => x.GetDouble())],
            [.. e.GetProperty("finished").EnumerateArray().Select(x => x.GetBoolean())],
            e.GetProperty("teacher_forced_loss").GetDouble());
    }
}
