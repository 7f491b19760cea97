using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SpanAttention.Cli.Rendering;
using SpanAttention.IO;

namespace SpanAttention.Cli.Commands;

/// <summary>
/// <c>spanattn info MODEL</c>: what a model file holds, read from its safetensors header alone (no
/// weights are loaded): every tensor with dtype, shape and parameter count, totals per top-level module,
/// and the <c>__metadata__</c> entries (a JSON object value, such as a saved configuration, is listed
/// field by field).
/// </summary>
internal static class InfoCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Argument<string>("model") { Description = "The model file (.safetensors)." };
        Option<string> format = CommonOptions.Format();
        var command = new Command("info", "Show the tensors, parameter counts and metadata of a model file.") { model, format };
        command.SetAction(parsed => Execute(context, parsed.GetRequiredValue(model), CommonOptions.ParseFormat(parsed.GetValue(format))));
        return command;
    }

    internal static int Execute(CliContext context, string path, TableFormat format)
    {
        FileChecks.RequireReadableFile(path, "model file");
        using SafeTensorsReader reader = OpenModel(path);
        TextWriter o = context.Out;
        var culture = CultureInfo.InvariantCulture;

        long total = 0;
        var rows = new List<IReadOnlyList<string>>(reader.Tensors.Count);
        var modules = new List<(string Name, long Count, int Tensors)>();
        foreach (SafeTensorInfo tensor in reader.Tensors)
        {
            long count = tensor.ElementCount;
            total += count;
            rows.Add([tensor.Name, SafeTensorsDTypes.NameOf(tensor.DType), tensor.ShapeText, count.ToString("N0", culture)]);
            int dot = tensor.Name.IndexOf('.', StringComparison.Ordinal);
            string module = dot < 0 ? tensor.Name : tensor.Name[..dot];
            int at = modules.FindIndex(m => m.Name == module);
            if (at < 0)
            {
                modules.Add((module, count, 1));
            }
            else
            {
                modules[at] = (module, modules[at].Count + count, modules[at].Tensors + 1);
            }
        }

        o.WriteLine($"file: {path} ({new FileInfo(path).Length.ToString("N0", culture)} bytes)");
        o.WriteLine($"tensors: {reader.Tensors.Count}, parameters: {total.ToString("N0", culture)}");
        if (InfoCaptioning.Describe(reader.Metadata, total) is IReadOnlyList<string> captioning)
        {
            foreach (string line in captioning)
            {
                o.WriteLine(line);
            }
        }
        o.WriteLine();
        if (rows.Count > 0)
        {
            o.Write(TextTable.Render(["tensor", "dtype", "shape", "parameters"], rows, [false, false, false, true], format));
            o.WriteLine();
            var moduleRows = new List<IReadOnlyList<string>>();
            foreach ((string name, long count, int tensors) in modules)
            {
                moduleRows.Add([name, tensors.ToString(culture), count.ToString("N0", culture)]);
            }
            moduleRows.Add(["total", reader.Tensors.Count.ToString(culture), total.ToString("N0", culture)]);
            o.Write(TextTable.Render(["module", "tensors", "parameters"], moduleRows, [false, true, true], format));
            o.WriteLine();
        }

        if (reader.Metadata.Count == 0)
        {
            o.WriteLine("metadata: none");
            return ExitCodes.Success;
        }
        o.WriteLine("metadata:");
        var keys = reader.Metadata.Keys.ToList();
        keys.Sort(StringComparer.Ordinal);
        foreach (string key in keys)
        {
            WriteMetadata(o, key, reader.Metadata[key]);
        }
        return ExitCodes.Success;
    }

    /// <summary>Opens and validates a safetensors file; a format problem becomes one message naming the file.</summary>
    internal static SafeTensorsReader OpenModel(string path)
    {
        try
        {
            return SafeTensorsReader.Open(path);
        }
        catch (ModelFileException e)
        {
            throw new CliException($"'{path}' is not a valid model file: {e.Message}", e);
        }
    }

    /// <summary>The most tokens of a vocabulary <c>info</c> lists.</summary>
    internal const int ShownTokens = 200;

    private static readonly JsonSerializerOptions Quoting = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static bool IsStringArray(JsonElement array)
    {
        foreach (JsonElement item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A list of tokens as text, e.g. <c>87 tokens: &lt;pad&gt; &lt;sos&gt; the in a</c>: each token as it is
    /// (Devanagari stays Devanagari), one space between; a token that is empty or holds white space or a control
    /// character is shown JSON-quoted so the list stays readable.</summary>
    private static string Tokens(JsonElement array)
    {
        int count = array.GetArrayLength();
        var shown = new List<string>(Math.Min(count, ShownTokens));
        foreach (JsonElement item in array.EnumerateArray())
        {
            if (shown.Count == ShownTokens)
            {
                break;
            }
            string token = item.GetString()!;
            bool plain = token.Length > 0 && !token.Any(c => char.IsWhiteSpace(c) || char.IsControl(c));
            shown.Add(plain ? token : JsonSerializer.Serialize(token, Quoting));
        }
        string more = count > ShownTokens ? $" ... and {count - ShownTokens} more" : "";
        return $"{count} {(count == 1 ? "token" : "tokens")}: {string.Join(' ', shown)}{more}";
    }

    /// <summary>One entry; a value holding a JSON object is listed field by field as <c>key.field: value</c>.</summary>
    private static void WriteMetadata(TextWriter o, string key, string value)
    {
        if (value.TrimStart().StartsWith('{'))
        {
            try
            {
                using JsonDocument document = JsonDocument.Parse(value);
                if (document.RootElement.ValueKind == JsonValueKind.Object)
                {
                    var lines = new List<string>();
                    foreach (JsonProperty field in document.RootElement.EnumerateObject())
                    {
                        string text = field.Value.ValueKind switch
                        {
                            JsonValueKind.String => field.Value.GetString()!,
                            JsonValueKind.Array when IsStringArray(field.Value) => Tokens(field.Value),
                            _ => field.Value.GetRawText(),
                        };
                        lines.Add($"  {key}.{field.Name}: {text}");
                    }
                    lines.ForEach(o.WriteLine);
                    return;
                }
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                // Not JSON after all, or a string that is not text (a lone surrogate \u escape): shown as it is.
            }
        }
        o.WriteLine($"  {key}: {value.ReplaceLineEndings(" ")}");
    }
}
