using SpanAttention.Seq2Seq;
using SpanAttention.Training;
using Xunit;

namespace SpanAttention.Tests.Support;

/// <summary>The checkpoint round trip every resume test shares: train straight, or stop, save, load elsewhere and go on.</summary>
internal static class CheckpointResume
{
    /// <summary>
    /// Trains one model (seed 5) for <paramref name="before"/> + <paramref name="after"/> epochs straight. Trains a second
    /// (seed 5) for <paramref name="before"/> epochs, saves a checkpoint, loads it into a third built with another seed
    /// (99) and trains that one for <paramref name="after"/> epochs. Asserts that the saved-then-resumed loss sequence
    /// equals the straight one, step for step.
    /// </summary>
    /// <param name="config">Model configuration (max batch 8, max source 8, max target 9).</param>
    /// <param name="batches">The training batches, the same for every run.</param>
    /// <param name="options">Trainer options, the same for every run.</param>
    /// <param name="before">Epochs before the checkpoint.</param>
    /// <param name="after">Epochs after it.</param>
    /// <param name="afterLoad">Runs once the checkpoint is loaded, before the resumed training: (path, saved, loaded).</param>
    /// <param name="afterResume">Runs after the resumed training, while the file still exists: (path, saved, loaded).</param>
    /// <returns>The straight trainer, the one that saved, and the one that loaded and resumed.</returns>
    public static (Seq2SeqTrainer Straight, Seq2SeqTrainer Saved, Seq2SeqTrainer Resumed) Run(
        Seq2SeqConfig config, IReadOnlyList<Seq2SeqBatch> batches, Seq2SeqTrainerOptions options, int before, int after,
        Action<string, Seq2SeqTrainer, Seq2SeqTrainer>? afterLoad = null, Action<string, Seq2SeqTrainer, Seq2SeqTrainer>? afterResume = null)
    {
        var straightLosses = new List<float>();
        var straight = new Seq2SeqTrainer(new Seq2SeqModel(config, 8, 8, 9, seed: 5), options);
        straight.Train(batches, before + after, onStep: s => straightLosses.Add(s.Loss));

        var resumedLosses = new List<float>();
        var saved = new Seq2SeqTrainer(new Seq2SeqModel(config, 8, 8, 9, seed: 5), options);
        saved.Train(batches, before, onStep: s => resumedLosses.Add(s.Loss));
        string path = Path.Combine(Path.GetTempPath(), $"ckpt-{Guid.NewGuid():N}.safetensors");
        try
        {
            saved.SaveCheckpoint(path);
            var resumed = new Seq2SeqTrainer(new Seq2SeqModel(config, 8, 8, 9, seed: 99), options);
            resumed.LoadCheckpoint(path);
            afterLoad?.Invoke(path, saved, resumed);
            resumed.Train(batches, after, onStep: s => resumedLosses.Add(s.Loss));
            Assert.Equal(straightLosses, resumedLosses);
            afterResume?.Invoke(path, saved, resumed);
            return (straight, saved, resumed);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
