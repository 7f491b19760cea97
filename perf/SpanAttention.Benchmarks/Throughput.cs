using System.Diagnostics;
using System.Globalization;
using System.Text;
using SpanAttention.Data;

namespace SpanAttention.Benchmarks;

/// <summary>
/// The <c>throughput</c> mode: whole-file translation speed in sentences per second (perf/throughput.sh).
/// <code>
/// throughput corpus --count N [--seed S]                       (source lines on stdout)
/// throughput run --model M.safetensors --input FILE [--path list|single] [--reps R] [--beam K]
/// </code>
/// <c>corpus</c> writes N source sentences: mostly hi-en sentences (3-7 tokens), every fifth a compound hi-en-long
/// sentence (up to about 40 tokens, some of its words unknown to a hi-en model), so a file has many lengths and some
/// unknown tokens. <c>run</c> decodes the whole file R times in this process: <c>list</c> with one
/// <see cref="TranslationModel.Decode(IReadOnlyList{string}, DecodingOptions?)"/> call (what <c>translate</c> does),
/// <c>single</c> with one <see cref="TranslationModel.Decode(string, DecodingOptions?)"/> call per sentence (the
/// per-sentence path); prints one JSON line with the median and every sample in sentences/s, and a hash of the
/// outputs so two builds' outputs can be compared without writing them.
/// </summary>
internal static class Throughput
{
    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("corpus" or "run"))
        {
            Console.Error.WriteLine("throughput: usage: throughput corpus --count N [--seed S] | throughput run --model M --input FILE [--path list|single] [--reps R] [--beam K]");
            return 2;
        }
        int count = 10_000, seed = 7, reps = 3, beam = 1;
        string? model = null, input = null;
        string path = "list";
        for (int i = 1; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"throughput: {args[i]} needs a value.");
            int NextInt() => int.Parse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--count": count = NextInt(); break;
                case "--seed": seed = NextInt(); break;
                case "--reps": reps = NextInt(); break;
                case "--beam": beam = NextInt(); break;
                case "--model": model = Next(); break;
                case "--input": input = Next(); break;
                case "--path": path = Next(); break;
                default:
                    Console.Error.WriteLine($"throughput: unknown argument '{args[i]}'.");
                    return 2;
            }
        }
        if (args[0] == "corpus")
        {
            WriteCorpus(Console.Out, count, seed);
            return 0;
        }
        if (model is null || input is null || path is not ("list" or "single") || reps < 1 || beam < 1)
        {
            Console.Error.WriteLine("throughput run: give --model and --input; --path list|single, --reps >= 1, --beam >= 1.");
            return 2;
        }
        return Time(model, input, path, reps, beam);
    }

    /// <summary>Writes <paramref name="count"/> source lines: four hi-en sentences, then one compound one, and so on.</summary>
    private static void WriteCorpus(TextWriter output, int count, int seed)
    {
        int compound = count / 5;
        IReadOnlyList<SentencePair> simple = HindiEnglish.Generate(Math.Min(100_000, count - compound), seed);
        Dataset longOnes = HindiEnglish.CreateCompound(new HindiEnglishOptions { Seed = seed, Count = Math.Max(compound, 100) });
        var longPairs = new List<SentencePair>(longOnes.Train);
        longPairs.AddRange(longOnes.Test);
        for (int i = 0, s = 0, l = 0; i < count; i++)
        {
            string line = i % 5 == 4 && l < longPairs.Count ? longPairs[l++].Source : simple[s++ % simple.Count].Source;
            output.WriteLine(line);
        }
    }

    private static int Time(string modelPath, string input, string path, int reps, int beam)
    {
        string[] lines = File.ReadAllLines(input);
        using TranslationModel model = TranslationModel.Load(modelPath, maxBatch: Math.Max(TranslationModel.DefaultMaxBatch, beam));
        var options = new DecodingOptions { BeamWidth = beam };
        var samples = new List<double>();
        string hash = "";
        for (int r = 0; r <= reps; r++)                                     // run 0 warms up the JIT and the pools
        {
            var watch = Stopwatch.StartNew();
            Translation[] outputs = path == "list" ? model.Decode(lines, options) : DecodeOneByOne(model, lines, options);
            watch.Stop();
            if (r > 0)
            {
                samples.Add(lines.Length / watch.Elapsed.TotalSeconds);
            }
            hash = Hash(outputs);
        }
        samples.Sort();
        double median = samples[samples.Count / 2];
        var culture = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(culture,
            $"{{\"mode\":\"throughput\",\"path\":\"{path}\",\"beam\":{beam},\"sentences\":{lines.Length},\"median\":{median:0.0},\"unit\":\"sentences/s\",\"samples\":[{string.Join(",", samples.Select(s => s.ToString("0.0", culture)))}],\"outputs_sha256\":\"{hash}\"}}"));
        return 0;
    }

    private static Translation[] DecodeOneByOne(TranslationModel model, string[] lines, DecodingOptions options)
    {
        var outputs = new Translation[lines.Length];
        for (int i = 0; i < lines.Length; i++)
        {
            outputs[i] = model.Decode(lines[i], options);
        }
        return outputs;
    }

    /// <summary>SHA-256 of the output texts, one per line.</summary>
    private static string Hash(Translation[] outputs)
    {
        var text = new StringBuilder();
        foreach (Translation t in outputs)
        {
            text.Append(t.Text).Append('\n');
        }
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
