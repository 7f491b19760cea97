using System.CommandLine;
using System.Text;
using SpanAttention.Cli.Commands;
using SpanAttention.Cli.Rendering;
using SpanAttention.IO;

namespace SpanAttention.Cli;

/// <summary>
/// The entry point of <c>spanattn</c>. <c>Run</c> parses,
/// runs one command and turns every expected error into one line on stderr and a nonzero exit code.
/// </summary>
internal static class Program
{
    /// <summary>The tool name, used in messages.</summary>
    public const string ToolName = "spanattn";

    /// <summary>
    /// The commands, in help order. A new command is one file under Commands/ with a
    /// <c>static Command Create(CliContext context)</c>, added here.
    /// </summary>
    private static readonly Func<CliContext, Command>[] Commands =
    [
        DemoCommand.Create,
        TrainCommand.Create,
        TranslateCommand.Create,
        CaptionCommand.Create,
        EvalCommand.Create,
        AttendCommand.Create,
        InfoCommand.Create,
    ];

    private static int Main(string[] args)
    {
        Console.OutputEncoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        ColorMode color = Terminal.DetectColor(Environment.GetEnvironmentVariable, Console.IsOutputRedirected);
        return Run(args, Console.Out, Console.Error, color, errorIsTerminal: !Console.IsErrorRedirected, stdin: Console.In);
    }

    /// <summary>Runs the tool in-process.</summary>
    /// <param name="args">The command line, without the program name.</param>
    /// <param name="stdout">Receives results.</param>
    /// <param name="stderr">Receives errors and warnings.</param>
    /// <param name="color">Colour use on <paramref name="stdout"/>; tests pass <see cref="ColorMode.Plain"/>.</param>
    /// <param name="errorIsTerminal">Whether <paramref name="stderr"/> is a terminal (live progress lines).</param>
    /// <param name="stdin">Standard input (null: empty).</param>
    /// <returns>The exit code (see <see cref="ExitCodes"/>).</returns>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, ColorMode color = ColorMode.Plain, bool errorIsTerminal = false, TextReader? stdin = null)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var context = new CliContext(stdout, stderr, color, errorIsTerminal) { In = stdin ?? TextReader.Null };
        return Run(args, context, Commands);
    }

    /// <summary>Runs the tool in-process with a given set of commands (tests add commands that fail on purpose).</summary>
    internal static int Run(string[] args, CliContext context, IReadOnlyList<Func<CliContext, Command>> commands)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        TextWriter stdout = context.Out, stderr = context.Error;
        RootCommand root = BuildRoot(context, commands);
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            return ReportParseError(parsed, parsed.Errors[0].Message, stderr);
        }
        if (FindUnknownOption(parsed) is string unknown)
        {
            return ReportParseError(parsed, $"unknown option '{unknown}' (text that starts with '-' goes after '--', e.g. -- {unknown})", stderr);
        }
        var invocation = new InvocationConfiguration
        {
            Output = stdout,
            Error = stderr,
            EnableDefaultExceptionHandler = false, // ours below: one line, no stack trace
        };
        try
        {
            return parsed.Invoke(invocation);
        }
        catch (Exception e) when (Describe(e) is string message)
        {
            stderr.WriteLine($"{ToolName}: error: {message}");
            return e is CliException cli ? cli.ExitCode : ExitCodes.Failure;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            stderr.WriteLine($"{ToolName}: internal error: {e.GetType().Name}: {OneLine(e.Message)}");
            if (Environment.GetEnvironmentVariable("SPANATTN_DEBUG") == "1")
            {
                stderr.WriteLine(e.ToString());
            }
            else
            {
                stderr.WriteLine($"{ToolName}: this is a bug; set SPANATTN_DEBUG=1 for the stack trace and please report it.");
            }
            return ExitCodes.InternalError;
        }
    }

    /// <summary>The root command with every command registered.</summary>
    internal static RootCommand BuildRoot(CliContext context, IReadOnlyList<Func<CliContext, Command>> commands)
    {
        var root = new RootCommand("spanattn: sequence-to-sequence models with attention, from scratch over Span<float>.");
        foreach (Func<CliContext, Command> create in commands)
        {
            root.Subcommands.Add(create(context));
        }
        // No command: the demo when it is registered; otherwise the overview on stdout.
        Command? demo = root.Subcommands.FirstOrDefault(c => c.Name == "demo");
        root.SetAction(_ =>
        {
            string[] args = demo is null ? ["--help"] : ["demo"];
            return root.Parse(args).Invoke(new InvocationConfiguration { Output = context.Out, Error = context.Error, EnableDefaultExceptionHandler = false });
        });
        return root;
    }

    /// <summary>
    /// The one-line message of an expected error, or null for a bug. Expected: our own
    /// <see cref="CliException"/> family, model-file problems, file-system problems and malformed input.
    /// </summary>
    internal static string? Describe(Exception e) => e switch
    {
        CliException => OneLine(e.Message),
        InputTooLongException t => $"input {t.Index + 1} has {t.Length} tokens, more than the limit of {t.Limit}: split it, or raise the limit with --max-source-length.",
        ModelFileException => "model file: " + OneLine(e.Message),
        FileNotFoundException f => f.FileName is null ? OneLine(f.Message) : $"file not found: '{f.FileName}'",
        DirectoryNotFoundException => OneLine(e.Message),
        UnauthorizedAccessException => "permission denied: " + OneLine(e.Message),
        PathTooLongException => OneLine(e.Message),
        IOException => OneLine(e.Message),
        FormatException => OneLine(e.Message),
        InvalidDataException => OneLine(e.Message),
        Visualization.HeatmapInputException => OneLine(e.Message),
        Evaluation.EvaluationInputException => OneLine(e.Message),
        _ => null,
    };

    /// <summary>A parse error: one line on stderr naming the error and the help to read; exit code 2.</summary>
    private static int ReportParseError(ParseResult parsed, string message, TextWriter stderr)
    {
        var path = new List<string> { ToolName };
        for (System.CommandLine.Parsing.SymbolResult? r = parsed.CommandResult; r is System.CommandLine.Parsing.CommandResult c && c.Command is not RootCommand; r = r.Parent)
        {
            path.Insert(1, c.Command.Name);
        }
        stderr.WriteLine($"{ToolName}: error: {PlainTypeNames(OneLine(message))} (see '{string.Join(' ', path)} --help')");
        return ExitCodes.Usage;
    }

    /// <summary>
    /// A command-line word that looks like an option (<c>-x</c>, <c>--name</c>) but was taken as a command's text
    /// argument (translate's sentences, say) because no option has that name; null when there is none. Words
    /// after <c>--</c> are text, whatever they look like; negative numbers are values.
    /// </summary>
    internal static string? FindUnknownOption(ParseResult parsed)
    {
        IReadOnlyList<System.CommandLine.Parsing.Token> tokens = parsed.Tokens;
        int end = tokens.Count;
        for (int i = 0; i < tokens.Count; i++)
        {
            if (tokens[i].Type == System.CommandLine.Parsing.TokenType.DoubleDash)
            {
                end = i;
                break;
            }
        }
        foreach (System.CommandLine.Parsing.SymbolResult child in parsed.CommandResult.Children)
        {
            if (child is not System.CommandLine.Parsing.ArgumentResult argument)
            {
                continue;
            }
            foreach (System.CommandLine.Parsing.Token token in argument.Tokens)
            {
                string v = token.Value;
                bool looksLikeOption = v.Length > 1 && v[0] == '-' && (char.IsLetter(v[1]) || v[1] == '-');
                if (looksLikeOption && IndexOf(tokens, token) is int at && at >= 0 && at < end)
                {
                    return v;
                }
            }
        }
        return null;
    }

    private static int IndexOf(IReadOnlyList<System.CommandLine.Parsing.Token> tokens, System.CommandLine.Parsing.Token token)
    {
        for (int i = 0; i < tokens.Count; i++)
        {
            if (ReferenceEquals(tokens[i], token))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>
    /// The parser's "as expected type 'System.Int32'" (or 'System.Nullable`1[System.Int32]') in words a user reads:
    /// "as a whole number", "as a number" or "as true or false".
    /// </summary>
    internal static string PlainTypeNames(string message) =>
        System.Text.RegularExpressions.Regex.Replace(message, @"expected type 'System\.(?:Nullable`1\[System\.)?(Int32|Int64|Single|Double|Boolean)\]?'",
            m => m.Groups[1].Value switch
            {
                "Int32" or "Int64" => "a whole number",
                "Single" or "Double" => "a number",
                _ => "true or false",
            });

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Replace('\t', ' ').Trim();
}
