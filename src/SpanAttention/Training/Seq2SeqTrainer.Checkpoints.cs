using System.Globalization;
using SpanAttention.IO;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Training;

/// <summary>Checkpoints: the model file plus the optimizer state, the step, epoch and RNG, so a resumed run continues exactly.</summary>
public sealed partial class Seq2SeqTrainer
{
    private const string ExpAvgPrefix = "optimizer.exp_avg.";
    private const string ExpAvgSqPrefix = "optimizer.exp_avg_sq.";
    private const string MomentumBufferPrefix = "optimizer.momentum_buffer.";
    private const string OptimizerKey = "spanattention.trainer.optimizer";

    /// <summary>
    /// Saves a training checkpoint atomically: the model file (<see cref="Seq2SeqModelFile"/>) plus the optimizer state
    /// (Adam: tensors <c>optimizer.exp_avg.{name}</c>, <c>optimizer.exp_avg_sq.{name}</c>; SGD with momentum:
    /// <c>optimizer.momentum_buffer.{name}</c>) and the optimizer kind, step, epoch, optimizer step and RNG state in
    /// <c>__metadata__</c>.
    /// </summary>
    /// <param name="path">Destination.</param>
    /// <param name="sourceVocabJson">Opaque source vocabulary JSON (or null).</param>
    /// <param name="targetVocabJson">Opaque target vocabulary JSON (or null).</param>
    public void SaveCheckpoint(string path, string? sourceVocabJson = null, string? targetVocabJson = null) =>
        SaveCheckpoint(path, sourceVocabJson, targetVocabJson, null, null);

    /// <summary>The same, with further metadata and further tensors (a training session's own state) in the file.</summary>
    /// <param name="path">Destination.</param>
    /// <param name="sourceVocabJson">Opaque source vocabulary JSON (or null).</param>
    /// <param name="targetVocabJson">Opaque target vocabulary JSON (or null).</param>
    /// <param name="extraMetadata">Further <c>__metadata__</c> entries (keys must not clash with the trainer's).</param>
    /// <param name="extraTensors">Further tensors, named with <see cref="SessionTensorPrefix"/>.</param>
    internal void SaveCheckpoint(string path, string? sourceVocabJson, string? targetVocabJson,
        IReadOnlyDictionary<string, string>? extraMetadata, IReadOnlyList<SafeTensor>? extraTensors)
    {
        var metadata = BuildMetadata(sourceVocabJson, targetVocabJson);
        if (extraMetadata is not null)
        {
            foreach ((string key, string value) in extraMetadata)
            {
                metadata[key] = value;
            }
        }
        metadata["spanattention.trainer.step"] = Step.ToString(CultureInfo.InvariantCulture);
        metadata["spanattention.trainer.epoch"] = Epoch.ToString(CultureInfo.InvariantCulture);
        metadata["spanattention.trainer.rng"] = Random.State.ToString(CultureInfo.InvariantCulture);
        var extra = new List<SafeTensor>();
        switch (Optimizer)
        {
            case Adam adam:
                metadata[OptimizerKey] = "adam";
                metadata["spanattention.trainer.adam_step"] = adam.StepCount.ToString(CultureInfo.InvariantCulture);
                extra.AddRange(SafeTensor.FromLayout(Layout, adam.ExpAvg, ExpAvgPrefix));
                extra.AddRange(SafeTensor.FromLayout(Layout, adam.ExpAvgSq, ExpAvgSqPrefix));
                break;
            case Sgd sgd:
                metadata[OptimizerKey] = "sgd";
                metadata["spanattention.trainer.sgd_step"] = sgd.StepCount.ToString(CultureInfo.InvariantCulture);
                if (sgd.MomentumBuffer.Length > 0)
                {
                    extra.AddRange(SafeTensor.FromLayout(Layout, sgd.MomentumBuffer, MomentumBufferPrefix));
                }
                break;
        }
        if (extraTensors is not null)
        {
            extra.AddRange(extraTensors);
        }
        ModelFile.Save(path, Layout, Parameters.Values, metadata, extra);
    }

    /// <summary>The name prefix of a training session's own tensors in a checkpoint (e.g. its best parameters so far).</summary>
    internal const string SessionTensorPrefix = "session.best.";

    /// <summary>Restores parameters, optimizer state, step, epoch and RNG state from <see cref="SaveCheckpoint(string, string?, string?)"/> output.</summary>
    /// <param name="path">The checkpoint.</param>
    /// <exception cref="ModelFileException">Malformed file, another configuration or optimizer, or missing trainer state.</exception>
    public void LoadCheckpoint(string path) => LoadCheckpoint(path, null);

    /// <summary>
    /// The same, also reading the session's best parameters (tensors named <see cref="SessionTensorPrefix"/> + slot) into
    /// <paramref name="sessionBest"/> when the file has them; returns the file's metadata, or null when those tensors
    /// are absent (a checkpoint written without them).
    /// </summary>
    internal IReadOnlyDictionary<string, string>? LoadCheckpoint(string path, float[]? sessionBest)
    {
        using SafeTensorsReader reader = SafeTensorsReader.Open(path);
        Seq2SeqModelFile.RequireArchitecture(reader.Metadata, _transformer is null ? null : Seq2SeqModelFile.TransformerArchitecture, path);
        Seq2SeqModelFile.CheckConfig(reader.Metadata, Config, path);
        string kind = reader.Metadata.TryGetValue(OptimizerKey, out string? k) ? k : "adam"; // files from before SGD support are Adam
        string expected = Optimizer is Sgd ? "sgd" : "adam";
        if (kind != expected)
        {
            throw new ModelFileException($"{path}: the checkpoint's optimizer is '{kind}', the trainer's is '{expected}'.");
        }
        reader.EnsureNoOtherTensors(Layout, "", ExpAvgPrefix, ExpAvgSqPrefix, MomentumBufferPrefix, SessionTensorPrefix);
        long step = ReadLong(reader.Metadata, "spanattention.trainer.step", path);
        long epoch = ReadLong(reader.Metadata, "spanattention.trainer.epoch", path);
        if (epoch > int.MaxValue)
        {
            throw new ModelFileException($"{path}: checkpoint metadata 'spanattention.trainer.epoch' is {epoch}, more than {int.MaxValue}.");
        }
        long optimizerStep = ReadLong(reader.Metadata, $"spanattention.trainer.{kind}_step", path);
        if (!reader.Metadata.TryGetValue("spanattention.trainer.rng", out string? rngText)
            || !ulong.TryParse(rngText, NumberStyles.None, CultureInfo.InvariantCulture, out ulong rng))
        {
            throw new ModelFileException($"{path}: checkpoint metadata 'spanattention.trainer.rng' is missing or not an unsigned integer.");
        }
        // read everything before touching the trainer, so a bad file leaves it as it was
        var values = new float[Layout.Count];
        reader.ReadInto(Layout, values);
        float[] first = [], second = [];
        switch (Optimizer)
        {
            case Adam:
                first = new float[Layout.Count];
                second = new float[Layout.Count];
                reader.ReadInto(Layout, first, ExpAvgPrefix);
                reader.ReadInto(Layout, second, ExpAvgSqPrefix);
                break;
            case Sgd sgd when sgd.MomentumBuffer.Length > 0:
                first = new float[Layout.Count];
                reader.ReadInto(Layout, first, MomentumBufferPrefix);
                break;
        }
        Seq2SeqModelFile.RequireFinite(Layout, values, "", path);
        if (first.Length > 0)
        {
            Seq2SeqModelFile.RequireFinite(Layout, first, Optimizer is Sgd ? MomentumBufferPrefix : ExpAvgPrefix, path);
        }
        if (second.Length > 0)
        {
            Seq2SeqModelFile.RequireFinite(Layout, second, ExpAvgSqPrefix, path);
        }
        bool hasSession = sessionBest is not null && reader.Contains(SessionTensorPrefix + Layout.Slots[0].Name);
        float[] best = [];
        if (hasSession)
        {
            best = new float[Layout.Count];
            reader.ReadInto(Layout, best, SessionTensorPrefix);
            Seq2SeqModelFile.RequireFinite(Layout, best, SessionTensorPrefix, path);
        }
        values.CopyTo(Parameters.Values, 0);
        if (hasSession)
        {
            best.CopyTo(sessionBest!, 0);
        }
        switch (Optimizer)
        {
            case Adam adam:
                first.CopyTo(adam.ExpAvg, 0);
                second.CopyTo(adam.ExpAvgSq, 0);
                break;
            case Sgd sgd:
                first.CopyTo(sgd.MomentumBuffer, 0);
                break;
        }
        Step = step;
        Epoch = (int)epoch;
        Optimizer.StepCount = optimizerStep;
        Random.State = rng;
        return hasSession ? reader.Metadata : null;
    }

    private static long ReadLong(IReadOnlyDictionary<string, string> metadata, string key, string path) =>
        metadata.TryGetValue(key, out string? text) && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value)
            ? value
            : throw new ModelFileException($"{path}: checkpoint metadata '{key}' is missing or not a non-negative integer.");
}
