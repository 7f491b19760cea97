using System.Globalization;
using SpanAttention.IO;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Training;

/// <summary>Two threads: each batch split in halves, the second on a dedicated worker, the gradients combined in a fixed order.</summary>
public sealed partial class Seq2SeqTrainer
{
    private readonly HalfBatchWorker? _worker;
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<Seq2SeqBatch, Seq2SeqBatch[]> _halves = [];

    /// <summary>
    /// Rows [0, B1) on this thread with <see cref="Model"/>, rows [B1, B) on the worker with its own model over the
    /// same parameter values (read by both, never copied) and its own gradient buffer. Both halves start from the same RNG state, so they make the same teacher-forcing draws
    /// (same T). Then g = (n1 g1 + n2 g2) / (n1 + n2), the gradient of the mean over all counted tokens.
    /// </summary>
    private (float Loss, int Tokens, int Correct) TwoThreadForwardBackward(Seq2SeqBatch batch, long step)
    {
        Seq2SeqBatch[] halves = _halves.GetValue(batch, Split);
        HalfBatchWorker worker = _worker!;
        Seq2SeqModel model = Model;
        worker.Random.State = Random.State;
        worker.Model.Training = true;
        worker.Model.DropoutSeed = model.DropoutSeed;
        worker.Model.DropoutStep = model.DropoutStep;
        worker.Model.DropoutRowOffset = halves[0].BatchSize;  // the second half's rows draw the whole batch's masks
        worker.Start(halves[1], Options.TeacherForcingRatio);
        model.Parameters.ZeroGradients();
        float loss1 = model.Forward(halves[0], Options.TeacherForcingRatio, Random);
        model.Backward();
        int n1 = model.LastTokenCount, c1 = model.CountCorrect();
        worker.Wait();
        float loss2 = worker.Loss;
        int n2 = worker.Model.LastTokenCount, c2 = worker.Correct;
        int n = n1 + n2;
        float loss = n == 0 ? 0f : (float)(((double)loss1 * n1 + (double)loss2 * n2) / n);
        CheckLoss(loss, step);
        if (n > 0)
        {
            Span<float> g = model.Parameters.Gradients;
            System.Numerics.Tensors.TensorPrimitives.Multiply(g, (float)n1 / n, g);
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(worker.Model.Parameters.Gradients, (float)n2 / n, g, g);
        }
        return (loss, n, c1 + c2);
    }

    private static Seq2SeqBatch[] Split(Seq2SeqBatch batch)
    {
        int b1 = (batch.BatchSize + 1) / 2;
        return [batch.Rows(0, b1), batch.Rows(b1, batch.BatchSize - b1)];
    }

    /// <summary>
    /// Runs one half-batch forward/backward on its own background thread; reusable, allocation-free per step.
    /// </summary>
    /// <remarks>
    /// A dedicated thread, not the thread pool: the kernels keep per-thread packing buffers (about 3.4 MB on first
    /// use, see <c>GemmWorkspace</c>), and a pool thread injected or replaced in the middle of training would allocate
    /// them in a steady-state step (seen in the benchmark: one 295 KB and one 3.1 MB array in a timed run). While idle
    /// the thread holds this object only weakly, so it ends soon after the trainer is no longer reachable.
    /// </remarks>
    private sealed class HalfBatchWorker(Seq2SeqModel model)
    {
        private const int IdleCheckMilliseconds = 2000;
        private readonly Gate _gate = new();
        private Seq2SeqBatch? _batch;
        private float _ratio;
        private Exception? _error;
        private Thread? _thread;

        public Seq2SeqModel Model { get; } = model;

        public SplitMix64 Random { get; } = new(0);

        public float Loss { get; private set; }

        public int Correct { get; private set; }

        /// <summary>The managed id of the thread that ran the last half batch (for tests).</summary>
        internal int LastThreadId { get; private set; }

        /// <summary>Whether that thread was a thread-pool thread (for tests).</summary>
        internal bool LastThreadWasPool { get; private set; }

        public void Start(Seq2SeqBatch batch, float ratio)
        {
            _batch = batch;
            _ratio = ratio;
            _error = null;
            if (_thread is null)
            {
                var owner = new WeakReference<HalfBatchWorker>(this);
                Gate gate = _gate;
                _thread = new Thread(() => Loop(owner, gate)) { IsBackground = true, Name = "SpanAttention trainer half-batch" };
                _thread.Start();
            }
            lock (_gate)
            {
                _gate.Finished = false;
                _gate.Posted = true;
                Monitor.PulseAll(_gate);
            }
        }

        public void Wait()
        {
            lock (_gate)
            {
                while (!_gate.Finished)
                {
                    Monitor.Wait(_gate);
                }
            }
            if (_error is not null)
            {
                throw new InvalidOperationException("The second training thread failed: " + _error.Message, _error);
            }
        }

        private void Execute()
        {
            try
            {
                LastThreadId = Environment.CurrentManagedThreadId;
                LastThreadWasPool = Thread.CurrentThread.IsThreadPoolThread;
                Model.Parameters.ZeroGradients();
                Loss = Model.Forward(_batch!, _ratio, Random);
                Model.Backward();
                Correct = Model.CountCorrect();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or ArithmeticException)
            {
                _error = e;
            }
            finally
            {
                lock (_gate)
                {
                    _gate.Finished = true;
                    Monitor.PulseAll(_gate);
                }
            }
        }

        /// <summary>Waits for posted work; ends when the owner has been collected.</summary>
        private static void Loop(WeakReference<HalfBatchWorker> owner, Gate gate)
        {
            while (true)
            {
                lock (gate)
                {
                    while (!gate.Posted)
                    {
                        if (!Monitor.Wait(gate, IdleCheckMilliseconds) && !owner.TryGetTarget(out _))
                        {
                            return;
                        }
                    }
                    gate.Posted = false;
                }
                if (!RunPosted(owner))
                {
                    return;
                }
            }
        }

        /// <summary>Runs the posted half batch; a separate frame so the loop never holds the owner strongly.</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static bool RunPosted(WeakReference<HalfBatchWorker> owner)
        {
            if (!owner.TryGetTarget(out HalfBatchWorker? worker))
            {
                return false;
            }
            worker.Execute();
            return true;
        }

        /// <summary>The lock both threads use, with the two flags it guards.</summary>
        private sealed class Gate
        {
            public bool Posted;
            public bool Finished;
        }
    }

    /// <summary>The managed id of the thread that ran the last second half batch, or 0 with one thread (for tests).</summary>
    internal int SecondThreadId => _worker?.LastThreadId ?? 0;

    /// <summary>Whether the last second half batch ran on a thread-pool thread (for tests).</summary>
    internal bool SecondThreadIsPoolThread => _worker?.LastThreadWasPool ?? false;
}
