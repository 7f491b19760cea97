using System.Globalization;
using System.Text.Json;
using SpanAttention.IO;

namespace SpanAttention.Training;

/// <summary>The session's own state in a checkpoint: best score and epoch, epochs since, first step loss, history.</summary>
public sealed partial class TrainingSession
{
    private const string BestEpochKey = "spanattention.session.best_epoch";
    private const string BestExactMatchKey = "spanattention.session.best_exact_match";
    private const string BestTokenAccuracyKey = "spanattention.session.best_token_accuracy";
    private const string SinceBestKey = "spanattention.session.epochs_since_best";
    private const string HistoryKey = "spanattention.session.history";
    private const string FirstStepLossKey = "spanattention.session.first_step_loss";

    /// <summary>What early stopping and best-model keeping need to continue exactly: the best score, its epoch,
    /// the epochs since, and the history; saved in every checkpoint beside the best parameters.</summary>
    private Dictionary<string, string> SessionState()
    {
        var c = CultureInfo.InvariantCulture;
        return new Dictionary<string, string>
        {
            [BestEpochKey] = BestEpoch.ToString(c),
            [BestExactMatchKey] = _best.ToString("R", c),
            [BestTokenAccuracyKey] = _bestTokens.ToString("R", c),
            [SinceBestKey] = _sinceBest.ToString(c),
            [FirstStepLossKey] = _firstStepLoss.ToString("R", c),
            [HistoryKey] = HistoryJson(),
        };
    }

    /// <summary>The history as a JSON array of rows: epoch, step, train loss, held-out loss, exact match, token
    /// accuracy, tokens/s, learning rate, elapsed seconds, best (0 or 1).</summary>
    private string HistoryJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (EpochReport e in _history)
            {
                json.WriteStartArray();
                foreach (double v in (ReadOnlySpan<double>)[e.Epoch, e.Step, e.TrainLoss, e.HeldOutLoss, e.ExactMatch, e.TokenAccuracy,
                    e.TokensPerSecond, e.LearningRate, e.Elapsed.TotalSeconds, e.IsBest ? 1 : 0])
                {
                    if (double.IsFinite(v))
                    {
                        json.WriteNumberValue(v);
                    }
                    else
                    {
                        json.WriteStringValue(v.ToString(CultureInfo.InvariantCulture));   // NaN, Infinity
                    }
                }
                json.WriteEndArray();
            }
            json.WriteEndArray();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private void RestoreSessionState(IReadOnlyDictionary<string, string> state, string path)
    {
        var c = CultureInfo.InvariantCulture;
        string Get(string key) => state.TryGetValue(key, out string? v) ? v
            : throw new ModelFileException($"{path}: checkpoint metadata '{key}' is missing (the file has the session's best parameters but not its scores).");
        double Score(string key) => double.TryParse(Get(key), NumberStyles.Float, c, out double v) && (v == -1 || (v >= 0 && v <= 1)) ? v
            : throw new ModelFileException($"{path}: checkpoint metadata '{key}' is not a score in [0, 1].");
        int Count(string key, int max) => int.TryParse(Get(key), NumberStyles.None, c, out int v) && v <= max ? v
            : throw new ModelFileException($"{path}: checkpoint metadata '{key}' is not an integer in [0, {max}].");
        int bestEpoch = Count(BestEpochKey, EpochsDone);
        double best = Score(BestExactMatchKey), bestTokens = Score(BestTokenAccuracyKey);
        int sinceBest = Count(SinceBestKey, EpochsDone);
        var history = new List<EpochReport>();
        try
        {
            using JsonDocument document = JsonDocument.Parse(Get(HistoryKey));
            foreach (JsonElement row in document.RootElement.EnumerateArray())
            {
                var r = new double[10];
                int n = 0;
                foreach (JsonElement v in row.EnumerateArray())
                {
                    if (n == r.Length)
                    {
                        throw new JsonException("a history row has more than 10 numbers");
                    }
                    r[n++] = v.ValueKind == JsonValueKind.String
                        ? double.Parse(v.GetString()!, NumberStyles.Float, c)
                        : v.GetDouble();
                }
                if (n != r.Length || !(r[0] >= 1 && r[0] <= EpochsDone) || !(r[1] >= 0 && r[1] <= long.MaxValue / 2) || !(r[8] >= 0 && r[8] < 1e9))
                {
                    throw new JsonException("a history row is not 10 numbers with a valid epoch, step and time");
                }
                history.Add(new EpochReport((int)r[0], (long)r[1], r[2], r[3], r[4], r[5], r[6], r[7], TimeSpan.FromSeconds(r[8]), r[9] != 0));
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or OverflowException or ArgumentException)
        {
            throw new ModelFileException($"{path}: checkpoint metadata '{HistoryKey}' is not a training history ({e.Message}).");
        }
        _firstStepLoss = state.TryGetValue(FirstStepLossKey, out string? first) && double.TryParse(first, NumberStyles.Float, c, out double f) ? f : double.NaN;
        BestEpoch = bestEpoch;
        _best = best;
        _bestTokens = bestTokens;
        _sinceBest = sinceBest;
        _history.AddRange(history);
    }
}
