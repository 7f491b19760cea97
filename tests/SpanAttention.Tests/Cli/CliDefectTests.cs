using SpanAttention.Cli;
using SpanAttention.Cli.Rendering;
using SpanAttention.Data;
using SpanAttention.Evaluation;
using SpanAttention.Inference;
using SpanAttention.IO;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary>
/// The CLI as a new user meets it: blank input lines, eval of a model trained on a TSV file, one output-length rule,
/// BLEU-4 beside exact match, n-best without a beam, help text, info's vocabularies, --threads.
/// </summary>
public class CliDefectTests : IClassFixture<TinyModels>
{
    private readonly TinyModels _models;

    public CliDefectTests(TinyModels models) => _models = models;

    // 1. One output line per input line.

    [Fact]
    public void Translate_BlankStdinLines_OneOutputLinePerInputLine()
    {
        (int code, string output, _) = CliRunner.RunWithStdin("a b c\n\n  \nd e f\n", "translate", _models.Attention);
        (_, string alone, _) = CliRunner.Run("translate", _models.Attention, "a b c", "d e f");

        Assert.Equal(0, code);
        string[] lines = output.Split('\n');
        Assert.Equal(5, lines.Length); // four lines and the final newline
        Assert.Equal(["", ""], lines[1..3]);
        Assert.Equal(alone.Split('\n')[0], lines[0]);
        Assert.Equal(alone.Split('\n')[1], lines[3]);
    }

    [Fact]
    public void Translate_BeamWithBlankStdinLine_OneOutputLinePerInputLine()
    {
        (int code, string output, _) = CliRunner.RunWithStdin("a b c\n\nd e f\n", "translate", _models.Attention, "--beam", "2");

        Assert.Equal(0, code);
        Assert.Equal(3, output.Count(c => c == '\n'));
        Assert.Equal("", output.Split('\n')[1]);
    }

    // 2. eval of a model trained on a TSV file scores the pairs it held out.

    private static string WriteTsv(string path, int lines)
    {
        var text = new List<string>();
        for (int i = 0; i < lines; i++)
        {
            text.Add($"w{i} x{i % 5}\tx{i % 5} w{i}");
        }
        File.WriteAllLines(path, text);
        return path;
    }

    private static string TrainOnTsv(TempFolder folder, string tsv)
    {
        string model = folder.File("tsv.safetensors");
        (int code, _, string error) = CliRunner.Run("train", "--data", tsv, "--epochs", "1", "--embedding-size", "8", "--hidden-size", "8",
            "--batch-size", "16", "--threads", "1", "--output", model);
        Assert.True(code == 0, error);
        return model;
    }

    [Fact]
    public void Eval_ModelTrainedOnTsv_ScoresOnlyItsHeldOutTestPairs()
    {
        using var folder = new TempFolder();
        string tsv = WriteTsv(folder.File("d.tsv"), 100);
        string model = TrainOnTsv(folder, tsv);
        int test = TsvDataset.Load(tsv, Tokenization.Word, 0.1, 0.1, seed: 1).Test.Count;
        Assert.InRange(test, 1, 99);

        (int code, string output, string error) = CliRunner.Run("eval", model);
        Assert.True(code == 0, error);
        Assert.Contains($"the {test} test pairs held out in training", output, StringComparison.Ordinal);

        (code, output, error) = CliRunner.Run("eval", model, "--data", tsv);
        Assert.True(code == 0, error);
        Assert.Contains($"the {test} test pairs held out when", output, StringComparison.Ordinal);

        (code, output, _) = CliRunner.Run("eval", model, "--data", tsv, "--all-lines");
        Assert.Equal(0, code);
        Assert.Contains("(all 100 lines)", output, StringComparison.Ordinal);

        (code, string info, _) = CliRunner.Run("info", model);
        Assert.Equal(0, code);
        Assert.Contains($"spanattention.task.data_sha256: {TaskSpec.Sha256(tsv)}", info, StringComparison.Ordinal);
        Assert.Contains($"spanattention.task.test_pairs: {test}", info, StringComparison.Ordinal);
    }

    [Fact]
    public void Eval_TrainingFileChangedSince_OneErrorLine()
    {
        using var folder = new TempFolder();
        string tsv = WriteTsv(folder.File("d.tsv"), 100);
        string model = TrainOnTsv(folder, tsv);
        File.AppendAllText(tsv, "w1 x1\tx1 w1\n");

        (int code, _, string error) = CliRunner.Run("eval", model);

        Assert.Equal(1, code);
        CliRunner.AssertOneErrorLine(error, "changed since");
    }

    // 3. One output-length rule, DecodeLimits.MaxOutputLength, in translate and eval.

    /// <summary>The attention model with &lt;eos&gt; made impossible, so every output runs to its length limit.</summary>
    private (TranslationModel Model, string Path) NeverEnding(TempFolder folder)
    {
        Seq2SeqModelFileContents file = Seq2SeqModelFile.Load(_models.Attention, maxBatch: 32);
        (Vocabulary source, Vocabulary target) = file.ReadVocabularies();
        Span<float> bias = file.Model.Layout["decoder.out.bias"].Of(file.Model.Parameters.Values.AsSpan());
        bias[Vocabulary.EosId] = -1e4f;
        string path = folder.File("never.safetensors");
        Seq2SeqModelFile.Save(path, file.Model, source, target);
        return (new TranslationModel(file.Model, source, target), path);
    }

    [Fact]
    public void TranslateAndEval_NeverEndingModel_SameOutputLimit()
    {
        using var folder = new TempFolder();
        (TranslationModel model, string path) = NeverEnding(folder);
        using TranslationModel disposeModel = model;
        Assert.Equal(DecodeLimits.MaxOutputLength(2), model.Decode("a").Tokens.Count); // "a" + <eos>: 2 ids

        // A 30-token reference beside a 1-token source: eval's outputs are as long as translate's (the source's
        // limit), not the reference's length plus 10.
        SentencePair[] pairs = [new("a", string.Join(' ', Enumerable.Repeat("a", 30)))];
        EvaluationReport report = SpanAttention.Cli.Commands.EvalCommand.Score(new CliContext(TextWriter.Null, TextWriter.Null, ColorMode.Plain),
            ModelBundle.Load(path), pairs, DecodeLimits.DefaultMaxSourceLength);
        (int code, string translated, _) = CliRunner.Run("translate", path, "a");

        Assert.Equal(0, code);
        Assert.Equal(DecodeLimits.MaxOutputLength(2), translated.Trim().Split(' ').Length);
        Assert.Equal(DecodeLimits.MaxOutputLength(2), report.Overall.Bleu.HypothesisLength);
    }

    // 4. BLEU-4 of 0 beside exact matches is explained.

    [Fact]
    public void EvaluationView_ZeroBleuBesideExactMatch_PrintsTheNote()
    {
        IReadOnlyList<string>[] shortSentences = [["a", "b"], ["c"]];
        IReadOnlyList<string>[] longSentences = [["a", "b", "c", "d", "e"]];
        EvaluationReport perfectShort = EvaluationReport.Compute([2, 1], shortSentences, shortSentences, LengthBucket.Uniform(2, 2));
        EvaluationReport perfectLong = EvaluationReport.Compute([5], longSentences, longSentences, LengthBucket.Uniform(5, 5));
        Assert.Equal(0, perfectShort.Overall.Bleu.Score);
        Assert.Equal(1, perfectShort.Overall.ExactMatch);

        var o = new StringWriter { NewLine = "\n" };
        EvaluationView.Write(new CliContext(o, TextWriter.Null, ColorMode.Plain), [("m", perfectShort)], TableFormat.Text);
        Assert.Contains(EvaluationView.ZeroBleuNote, o.ToString(), StringComparison.Ordinal);

        o = new StringWriter { NewLine = "\n" };
        EvaluationView.Write(new CliContext(o, TextWriter.Null, ColorMode.Plain), [("m", perfectLong)], TableFormat.Text);
        Assert.DoesNotContain("note:", o.ToString(), StringComparison.Ordinal);
    }

    // 5. n-best needs a beam.

    [Fact]
    public void Translate_NBestWithoutBeam_SaysItNeedsBeam()
    {
        (int code, _, string error) = CliRunner.Run("translate", _models.Attention, "--nbest", "3", "a b");

        Assert.Equal(ExitCodes.Usage, code);
        CliRunner.AssertOneErrorLine(error, "--nbest 3 needs beam search: add --beam K with K >= 3");
        Assert.Contains("length-normalised", error, StringComparison.Ordinal);
        (_, string help, _) = CliRunner.Run("translate", "--help");
        Assert.Contains("needs --beam", help, StringComparison.Ordinal);
        Assert.Contains("length-normalised", help, StringComparison.Ordinal);
    }

    // 6. A parse error is one line, no raw tab.

    [Fact]
    public void ParseError_OneLineWithoutTabs()
    {
        (int code, string output, string error) = CliRunner.Run("translate", _models.Attention, "--beam", "x");

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("", output);
        CliRunner.AssertOneErrorLine(error, "--beam");
        Assert.Contains("--help", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("translate", "--beam", "x", "as a whole number")]
    [InlineData("translate", "--max-length", "1.5", "as a whole number")]
    [InlineData("eval", "--max-length", "x", "as a whole number")]
    public void ParseError_BadNumber_NamesTheKindOfValueNotTheDotNetType(string command, string option, string value, string expected)
    {
        (int code, _, string error) = CliRunner.Run(command, _models.Attention, option, value);

        Assert.Equal(ExitCodes.Usage, code);
        CliRunner.AssertOneErrorLine(error, option);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("System.Single", "as a number.")]
    [InlineData("System.Double", "as a number.")]
    [InlineData("System.Nullable`1[System.Single]", "as a number.")]
    [InlineData("System.Boolean", "as true or false.")]
    [InlineData("System.Int64", "as a whole number.")]
    public void PlainTypeNames_ParserTypeName_InWords(string type, string expected)
    {
        Assert.Equal("Cannot parse argument 'x' for option '--lr' " + expected,
            Program.PlainTypeNames($"Cannot parse argument 'x' for option '--lr' as expected type '{type}'."));
    }

    // 7. Help values are lowercase.

    [Theory]
    [InlineData("eval")]
    [InlineData("info")]
    public void Help_FormatValuesLowercase(string command)
    {
        (int code, string help, _) = CliRunner.Run(command, "--help");

        Assert.Equal(0, code);
        string line = help.Split('\n').Single(l => l.TrimStart().StartsWith("--format", StringComparison.Ordinal));
        Assert.Contains("markdown|text", line, StringComparison.Ordinal);
        Assert.Contains("[default: text]", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Markdown", line, StringComparison.Ordinal);
    }

    // 8. info prints vocabulary tokens as text.

    [Fact]
    public void Info_Vocabulary_TokensAsText()
    {
        (int code, string output, _) = CliRunner.Run("info", _models.Attention);

        Assert.Equal(0, code);
        Assert.Contains("spanattention.source_vocab.tokens: ", output, StringComparison.Ordinal);
        string line = output.Split('\n').Single(l => l.Contains("spanattention.source_vocab.tokens: ", StringComparison.Ordinal));
        Assert.Matches(@"tokens: \d+ tokens: <pad> <sos> <eos> <unk> ", line);
        Assert.DoesNotContain("\\u", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_DevanagariVocabulary_PrintedAsDevanagari()
    {
        using var folder = new TempFolder();
        string tsv = folder.File("hi.tsv");
        var lines = new List<string>();
        for (int i = 0; i < 40; i++)
        {
            lines.Add($"मैं खाना {i}\ti eat {i}");
        }
        File.WriteAllLines(tsv, lines);
        string model = folder.File("hi.safetensors");
        Assert.Equal(0, CliRunner.Run("train", "--data", tsv, "--epochs", "1", "--embedding-size", "8", "--hidden-size", "8", "--threads", "1", "--output", model).Code);

        (int code, string output, _) = CliRunner.Run("info", model);

        Assert.Equal(0, code);
        Assert.Contains(" मैं ", output, StringComparison.Ordinal);
        Assert.Contains(" खाना", output, StringComparison.Ordinal);
    }

    // 9. --threads up to the machine's processors.

    [Fact]
    public void Threads_UpToProcessorCount_DefaultDocumented()
    {
        int n = Environment.ProcessorCount;
        (int code, _, string error) = CliRunner.Run(TinyModels.With(TinyModels.Train("unused.safetensors"), "--threads", (n + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(ExitCodes.Usage, code);
        CliRunner.AssertOneErrorLine(error, $"--threads must be between 1 and {n}");

        (_, string help, _) = CliRunner.Run("train", "--help");
        Assert.Contains($"Default: {Math.Min(2, n)}", help, StringComparison.Ordinal);
        Assert.Equal(2, CommonOptions.TrainerThreads(64));
        Assert.Equal(1, CommonOptions.TrainerThreads(1));
    }

    [Fact]
    public void ResolveThreads_AboveWhatTheTrainerRuns_UsesTwoWithOneWarning()
    {
        var error = new StringWriter();
        var context = new CliContext(TextWriter.Null, error, ColorMode.Plain);

        Assert.Equal(2, CommonOptions.ResolveThreads(context, 8, processorCount: 16));
        string[] lines = CliRunner.Lines(error.ToString());
        Assert.Equal(["spanattn: warning: --threads 8: the trainer runs at most 2 threads (each trains half of every batch); using 2."], lines);

        var quiet = new StringWriter();
        var quietContext = new CliContext(TextWriter.Null, quiet, ColorMode.Plain);
        Assert.Equal(2, CommonOptions.ResolveThreads(quietContext, 2, processorCount: 16));
        Assert.Equal(1, CommonOptions.ResolveThreads(quietContext, 1, processorCount: 16));
        Assert.Equal("", quiet.ToString());
        Assert.Throws<UsageException>(() => CommonOptions.ResolveThreads(quietContext, 17, processorCount: 16));

        (_, string help, _) = CliRunner.Run("demo", "--help");
        Assert.Contains("a value above 2 is used as 2", help.ReplaceLineEndings(" ").Replace("  ", " ", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void Train_ThreadsEqualToProcessorCount_Trains()
    {
        using var folder = new TempFolder();
        string[] args = TinyModels.With(TinyModels.Train(folder.File("m.safetensors")), "--threads", Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
        (int code, _, string error) = CliRunner.Run(args);

        Assert.True(code == 0, error);
    }
}
