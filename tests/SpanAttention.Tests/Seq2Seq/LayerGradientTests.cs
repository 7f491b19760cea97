using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Support;
using Xunit;
using Xunit.Sdk;

namespace SpanAttention.Tests.Seq2Seq;

/// <summary>Backward passes against central finite differences of double-precision oracles (see <see cref="GradientCheck"/>).</summary>
public class LayerGradientTests
{
    private const int N = 5, In = 4, Out = 3, V = 6, E = 3;

    // ---- double oracles -------------------------------------------------------------------------

    private static double LinearLoss(double[] x, double[] w, double[] b, float[] r)
    {
        double loss = 0;
        for (int n = 0; n < N; n++)
        {
            for (int o = 0; o < Out; o++)
            {
                double y = b[o];
                for (int i = 0; i < In; i++)
                {
                    y += x[n * In + i] * w[o * In + i];
                }
                loss += r[n * Out + o] * y;
            }
        }
        return loss;
    }

    private static double CrossEntropyLoss(double[] logits, int[] targets, int ignore)
    {
        double total = 0;
        int count = 0;
        for (int n = 0; n < targets.Length; n++)
        {
            if (targets[n] == ignore)
            {
                continue;
            }
            double max = double.NegativeInfinity;
            for (int v = 0; v < V; v++)
            {
                max = Math.Max(max, logits[n * V + v]);
            }
            double sum = 0;
            for (int v = 0; v < V; v++)
            {
                sum += Math.Exp(logits[n * V + v] - max);
            }
            total += max + Math.Log(sum) - logits[n * V + targets[n]];
            count++;
        }
        return total / count;
    }

    // ---- the checks, parameterised by the backward under test so the teeth tests can swap in a wrong one ----

    internal delegate void LinearBackward(float[] dY, float[] x, float[] w, float[] dX, float[] dW, float[] dB);

    private static void CheckLinear(LinearBackward backward)
    {
        float[] x = Numerics.Random(N * In, 1), w = Numerics.Random(Out * In, 2), b = Numerics.Random(Out, 3), r = Numerics.Random(N * Out, 4);
        float[] dX = new float[N * In], dW = new float[Out * In], dB = new float[Out];
        backward(r, x, w, dX, dW, dB); // dL/dy = r for L = Σ r ⊙ y

        double[] xd = GradientCheck.ToDouble(x), wd = GradientCheck.ToDouble(w), bd = GradientCheck.ToDouble(b);
        GradientCheck.AssertClose(GradientCheck.Numerical(xd, () => LinearLoss(xd, wd, bd, r)), dX, "dX");
        GradientCheck.AssertClose(GradientCheck.Numerical(wd, () => LinearLoss(xd, wd, bd, r)), dW, "dWeight");
        GradientCheck.AssertClose(GradientCheck.Numerical(bd, () => LinearLoss(xd, wd, bd, r)), dB, "dBias");
    }

    internal delegate void CrossEntropyBackward(float[] probabilities, int[] targets, int ignore, int count, float[] dLogits);

    private static void CheckCrossEntropy(CrossEntropyBackward backward)
    {
        float[] logits = Numerics.Random(N * V, 5, 3f);
        int[] targets = [2, 0, 5, 0, 1]; // 0 is ignored: 3 rows count
        float[] probabilities = new float[N * V], dLogits = new float[N * V];
        float loss = CrossEntropy.Forward(logits, targets, V, 0, probabilities, out int count);
        Assert.Equal(3, count);
        double[] ld = GradientCheck.ToDouble(logits);
        Assert.Equal(CrossEntropyLoss(ld, targets, 0), loss, 1e-6);
        backward(probabilities, targets, 0, count, dLogits);
        GradientCheck.AssertClose(GradientCheck.Numerical(ld, () => CrossEntropyLoss(ld, targets, 0)), dLogits, "dLogits");
    }

    private static void RightLinear(float[] dY, float[] x, float[] w, float[] dX, float[] dW, float[] dB) =>
        Linear.Backward(dY, x, N, In, Out, w, dX, dW, dB);

    [Fact]
    public void LinearBackward_VersusFiniteDifferences_Agrees() => CheckLinear(RightLinear);

    [Fact]
    public void Linear_SingleRow_GemvPathEqualsTheRowInsideABatch()
    {
        // One row (a decoder step at batch 1) takes the GEMV paths; each must give its row of the batched GEMMs.
        const int rows = 3, inF = 37, outF = 19;
        float[] x = Numerics.Random(rows * inF, 31), w = Numerics.Random(outF * inF, 32), b = Numerics.Random(outF, 33), dY = Numerics.Random(rows * outF, 34);
        var y = new float[rows * outF];
        var dX = new float[rows * inF];
        Linear.Forward(x, rows, inF, outF, w, b, y);
        Linear.Backward(dY, x, rows, inF, outF, w, dX, new float[outF * inF], new float[outF]);
        for (int r = 0; r < rows; r++)
        {
            var y1 = new float[outF];
            var dX1 = Numerics.Random(inF, 35 + r);               // accumulated into
            float[] start = (float[])dX1.Clone();
            Linear.Forward(x.AsSpan(r * inF, inF), 1, inF, outF, w, b, y1);
            Linear.Backward(dY.AsSpan(r * outF, outF), x.AsSpan(r * inF, inF), 1, inF, outF, w, dX1, new float[outF * inF], new float[outF]);
            Numerics.AssertClose(y.AsSpan(r * outF, outF).ToArray(), y1, 1e-5f, 1e-6f, $"y row {r}");
            for (int i = 0; i < inF; i++)
            {
                dX1[i] -= start[i];
            }
            Numerics.AssertClose(dX.AsSpan(r * inF, inF).ToArray(), dX1, 1e-5f, 1e-5f, $"dX row {r}");
        }
    }

    [Fact]
    public void CrossEntropyBackward_VersusFiniteDifferences_Agrees() =>
        CheckCrossEntropy((p, t, ignore, count, d) => CrossEntropy.Backward(1f, p, t, V, ignore, count, d));

    [Fact]
    public void LinearBackward_DeliberatelyWrong_FailsTheCheck()
    {
        // Teeth: dW from dY·x summed over the wrong rows (one row dropped), and a bias gradient that forgets one row.
        Assert.Throws<XunitException>(() => CheckLinear((dY, x, w, dX, dW, dB) =>
            Linear.Backward(dY, x, N - 1, In, Out, w, dX, dW, dB)));
        // Teeth: the bias gradient taken from the first row only (the loop over rows forgotten).
        Assert.Throws<XunitException>(() => CheckLinear((dY, x, w, dX, dW, dB) =>
        {
            RightLinear(dY, x, w, dX, dW, new float[dB.Length]);
            dY.AsSpan(0, Out).CopyTo(dB);
        }));
    }

    [Fact]
    public void CrossEntropyBackward_DeliberatelyWrong_FailsTheCheck()
    {
        // Teeth: dividing by every row instead of the counted ones (what a loss that counts padding would do).
        Assert.Throws<XunitException>(() => CheckCrossEntropy((p, t, ignore, count, d) => CrossEntropy.Backward(1f, p, t, V, ignore, N, d)));
        // Teeth: forgetting the one-hot term (gradient of log-sum-exp only).
        Assert.Throws<XunitException>(() => CheckCrossEntropy((p, t, ignore, count, d) =>
        {
            CrossEntropy.Backward(1f, p, t, V, ignore, count, d);
            for (int n = 0; n < t.Length; n++)
            {
                if (t[n] != ignore)
                {
                    d[n * V + t[n]] += 1f / count;
                }
            }
        }));
    }

    [Fact]
    public void EmbeddingBackward_VersusFiniteDifferences_AgreesAndSkipsThePaddingRow()
    {
        int[] ids = [3, 0, 5, 5, 1]; // 0 is padding; 5 repeats
        float[] w = Numerics.Random(V * E, 6), r = Numerics.Random(ids.Length * E, 7);
        float[] output = new float[ids.Length * E], dW = new float[V * E];
        Embedding.Forward(ids, w, V, E, output);
        for (int i = 0; i < ids.Length; i++)
        {
            Numerics.AssertEqual(w.AsSpan(ids[i] * E, E), output.AsSpan(i * E, E), $"row {i}");
        }
        Embedding.Backward(r, ids, V, E, paddingId: 0, dW);

        double[] wd = GradientCheck.ToDouble(w);
        double Loss()
        {
            double loss = 0;
            for (int i = 0; i < ids.Length; i++)
            {
                for (int e = 0; e < E; e++)
                {
                    loss += r[i * E + e] * wd[ids[i] * E + e];
                }
            }
            return loss;
        }
        double[] numerical = GradientCheck.Numerical(wd, Loss);
        numerical.AsSpan(0, E).Clear(); // PyTorch's padding_idx: the padding row receives no gradient by definition
        GradientCheck.AssertClose(numerical, dW, "dWeight");
        Assert.Contains(numerical, v => Math.Abs(v) > 0.1); // the check compares something
    }

    [Fact]
    public void Backward_CalledTwice_Accumulates()
    {
        float[] x = Numerics.Random(N * In, 1), w = Numerics.Random(Out * In, 2), dY = Numerics.Random(N * Out, 4);
        float[] dX1 = new float[N * In], dW1 = new float[Out * In], dB1 = new float[Out];
        float[] dX2 = new float[N * In], dW2 = new float[Out * In], dB2 = new float[Out];
        Linear.Backward(dY, x, N, In, Out, w, dX1, dW1, dB1);
        Linear.Backward(dY, x, N, In, Out, w, dX2, dW2, dB2);
        Linear.Backward(dY, x, N, In, Out, w, dX2, dW2, dB2);
        Numerics.AssertClose(dX1.Select(v => 2 * v).ToArray(), dX2, 1e-6f, 0f, "dX");
        Numerics.AssertClose(dW1.Select(v => 2 * v).ToArray(), dW2, 1e-6f, 0f, "dW");
        Numerics.AssertClose(dB1.Select(v => 2 * v).ToArray(), dB2, 1e-6f, 0f, "dB");
    }
}
