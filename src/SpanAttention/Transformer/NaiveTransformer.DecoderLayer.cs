using SpanAttention.Kernels;

namespace SpanAttention.Transformer;

/// <summary>
/// The reference twin of <see cref="TransformerDecoderLayer"/>: the layer's nine passes composed from the naive
/// pieces (attention, layer norm, and a feed-forward in double), each intermediate a fresh array, parameters
/// looked up by their state_dict names. Backward recomputes the forward and walks it in reverse.
/// </summary>
internal static partial class NaiveTransformer
{
    /// <summary>The shapes, masks and options of one decoder-layer call.</summary>
    /// <param name="Embedding">E.</param>
    /// <param name="Heads">H.</param>
    /// <param name="FeedForward">F.</param>
    /// <param name="Activation">ReLU or GELU.</param>
    /// <param name="NormFirst">Pre-norm instead of post-norm.</param>
    /// <param name="Batch">B.</param>
    /// <param name="TargetSteps">T.</param>
    /// <param name="SourceSteps">S.</param>
    /// <param name="TargetLengths">(B) valid target positions, or empty.</param>
    /// <param name="MemoryLengths">(B) valid memory positions, or empty.</param>
    internal readonly record struct DecoderLayerShape(int Embedding, int Heads, int FeedForward, FeedForwardActivation Activation, bool NormFirst,
        int Batch, int TargetSteps, int SourceSteps, int[] TargetLengths, int[] MemoryLengths);

    /// <summary>Decoder layer forward (see <see cref="TransformerDecoderLayer"/> for the formulas).</summary>
    /// <param name="shape">Shapes and options.</param>
    /// <param name="p">Parameters by state_dict name without prefix (<c>self_attn.in_proj_weight</c>, ..., <c>norm3.bias</c>).</param>
    /// <param name="x">(B, T, E).</param>
    /// <param name="memory">(B, S, E).</param>
    /// <param name="y">(B, T, E). Overwritten.</param>
    public static void DecoderLayerForward(DecoderLayerShape shape, IReadOnlyDictionary<string, float[]> p, float[] x, float[] memory, float[] y) =>
        DecoderPasses(shape, p, x, memory).Y.CopyTo(y, 0);

    /// <summary>Decoder layer backward: accumulates dx, d memory and every parameter gradient.</summary>
    /// <param name="shape">Shapes and options.</param>
    /// <param name="dY">(B, T, E).</param>
    /// <param name="p">Parameters by name, as for the forward.</param>
    /// <param name="x">(B, T, E).</param>
    /// <param name="memory">(B, S, E).</param>
    /// <param name="dp">Gradients by the same names, each the parameter's shape. Accumulated.</param>
    /// <param name="dX">(B, T, E). Accumulated.</param>
    /// <param name="dMemory">(B, S, E). Accumulated.</param>
    public static void DecoderLayerBackward(DecoderLayerShape shape, float[] dY, IReadOnlyDictionary<string, float[]> p, float[] x, float[] memory,
        IReadOnlyDictionary<string, float[]> dp, float[] dX, float[] dMemory)
    {
        DecoderActivations f = DecoderPasses(shape, p, x, memory);
        int n = shape.Batch * shape.TargetSteps, e = shape.Embedding;
        AttentionShape self = SelfShape(shape), cross = CrossShape(shape);
        if (!shape.NormFirst)
        {
            // (9) y = norm3(r3)
            float[] dR3 = new float[n * e];
            Norm(shape, dY, f.R3, p, dp, "norm3", dR3);
            // (8) r3 = u2 + f, (7) f = FF(u2)
            float[] dU2 = (float[])dR3.Clone();
            FeedForwardBackward(shape, dR3, f.U2, p, dp, dU2);
            // (6) u2 = norm2(r2)
            float[] dR2 = new float[n * e];
            Norm(shape, dU2, f.R2, p, dp, "norm2", dR2);
            // (5) r2 = u1 + c, (4) c = CA(u1, m)
            float[] dU1 = (float[])dR2.Clone();
            Attention(cross, dR2, p, dp, "multihead_attn.", f.U1, memory, memory, dU1, dMemory, dMemory);
            // (3) u1 = norm1(r1)
            float[] dR1 = new float[n * e];
            Norm(shape, dU1, f.R1, p, dp, "norm1", dR1);
            // (2) r1 = x + a, (1) a = SA(x)
            Add(dX, dR1);
            Attention(self, dR1, p, dp, "self_attn.", x, x, x, dX, dX, dX);
        }
        else
        {
            // (9) y = u2 + f, (8) f = FF(n3)
            float[] dU2 = (float[])dY.Clone();
            float[] dN3 = new float[n * e];
            FeedForwardBackward(shape, dY, f.N3, p, dp, dN3);
            // (7) n3 = norm3(u2)
            Norm(shape, dN3, f.U2, p, dp, "norm3", dU2);
            // (6) u2 = u1 + c, (5) c = CA(n2, m)
            float[] dU1 = (float[])dU2.Clone();
            float[] dN2 = new float[n * e];
            Attention(cross, dU2, p, dp, "multihead_attn.", f.N2, memory, memory, dN2, dMemory, dMemory);
            // (4) n2 = norm2(u1)
            Norm(shape, dN2, f.U1, p, dp, "norm2", dU1);
            // (3) u1 = x + a, (2) a = SA(n1)
            Add(dX, dU1);
            float[] dN1 = new float[n * e];
            Attention(self, dU1, p, dp, "self_attn.", f.N1, f.N1, f.N1, dN1, dN1, dN1);
            // (1) n1 = norm1(x)
            Norm(shape, dN1, x, p, dp, "norm1", dX);
        }
    }

    /// <summary>The forward's intermediates; post-norm fills R1..R3, pre-norm N1..N3.</summary>
    private sealed record DecoderActivations(float[] R1, float[] N1, float[] U1, float[] R2, float[] N2, float[] U2, float[] R3, float[] N3, float[] Y);

    private static DecoderActivations DecoderPasses(DecoderLayerShape shape, IReadOnlyDictionary<string, float[]> p, float[] x, float[] memory)
    {
        float[] empty = [];
        AttentionShape self = SelfShape(shape), cross = CrossShape(shape);
        if (!shape.NormFirst)
        {
            float[] r1 = Sum(x, Attend(self, p, "self_attn.", x, x));             // (1), (2)
            float[] u1 = Normalize(shape, r1, p, "norm1");                        // (3)
            float[] r2 = Sum(u1, Attend(cross, p, "multihead_attn.", u1, memory)); // (4), (5)
            float[] u2 = Normalize(shape, r2, p, "norm2");                        // (6)
            float[] r3 = Sum(u2, FeedForwardForward(shape, u2, p));               // (7), (8)
            float[] y = Normalize(shape, r3, p, "norm3");                         // (9)
            return new DecoderActivations(r1, empty, u1, r2, empty, u2, r3, empty, y);
        }
        float[] n1 = Normalize(shape, x, p, "norm1");                             // (1)
        float[] u1Pre = Sum(x, Attend(self, p, "self_attn.", n1, n1));            // (2), (3)
        float[] n2 = Normalize(shape, u1Pre, p, "norm2");                         // (4)
        float[] u2Pre = Sum(u1Pre, Attend(cross, p, "multihead_attn.", n2, memory));   // (5), (6)
        float[] n3 = Normalize(shape, u2Pre, p, "norm3");                         // (7)
        float[] yPre = Sum(u2Pre, FeedForwardForward(shape, n3, p));              // (8), (9)
        return new DecoderActivations(empty, n1, u1Pre, empty, n2, u2Pre, empty, n3, yPre);
    }

    private static AttentionShape SelfShape(DecoderLayerShape s) =>
        new(s.Embedding, s.Heads, s.Batch, s.TargetSteps, s.TargetSteps, s.TargetLengths, Causal: true);

    private static AttentionShape CrossShape(DecoderLayerShape s) =>
        new(s.Embedding, s.Heads, s.Batch, s.TargetSteps, s.SourceSteps, s.MemoryLengths, Causal: false);

    private static float[] Attend(AttentionShape shape, IReadOnlyDictionary<string, float[]> p, string prefix, float[] query, float[] keyValue)
    {
        var output = new float[shape.Batch * shape.Queries * shape.Embedding];
        var weights = new float[shape.Batch * shape.Heads * shape.Queries * shape.Keys];
        AttentionForward(shape, p[prefix + "in_proj_weight"], p[prefix + "in_proj_bias"], p[prefix + "out_proj.weight"], p[prefix + "out_proj.bias"],
            query, keyValue, keyValue, output, weights);
        return output;
    }

    private static void Attention(AttentionShape shape, float[] dOutput, IReadOnlyDictionary<string, float[]> p, IReadOnlyDictionary<string, float[]> dp,
        string prefix, float[] query, float[] key, float[] value, float[] dQuery, float[] dKey, float[] dValue) =>
        AttentionBackward(shape, dOutput, p[prefix + "in_proj_weight"], p[prefix + "in_proj_bias"], p[prefix + "out_proj.weight"], query, key, value,
            dp[prefix + "in_proj_weight"], dp[prefix + "in_proj_bias"], dp[prefix + "out_proj.weight"], dp[prefix + "out_proj.bias"], dQuery, dKey, dValue);

    private static float[] Normalize(DecoderLayerShape shape, float[] x, IReadOnlyDictionary<string, float[]> p, string name)
    {
        var y = new float[x.Length];
        LayerNormForward(x, shape.Batch * shape.TargetSteps, shape.Embedding, p[name + ".weight"], p[name + ".bias"], SpanAttention.Transformer.LayerNorm.DefaultEpsilon, y);
        return y;
    }

    private static void Norm(DecoderLayerShape shape, float[] dY, float[] x, IReadOnlyDictionary<string, float[]> p, IReadOnlyDictionary<string, float[]> dp,
        string name, float[] dX) =>
        LayerNormBackward(dY, x, shape.Batch * shape.TargetSteps, shape.Embedding, p[name + ".weight"], SpanAttention.Transformer.LayerNorm.DefaultEpsilon,
            dX, dp[name + ".weight"], dp[name + ".bias"]);

    /// <summary>linear2(act(linear1(x))) in double, with the activation from Kernels/Naive.cs.</summary>
    private static float[] FeedForwardForward(DecoderLayerShape shape, float[] x, IReadOnlyDictionary<string, float[]> p)
    {
        int n = shape.Batch * shape.TargetSteps, e = shape.Embedding, f = shape.FeedForward;
        float[] h = Affine(x, n, e, f, p["linear1.weight"], p["linear1.bias"]);   // (N, F)
        var a = new float[h.Length];
        if (shape.Activation == FeedForwardActivation.Relu)
        {
            Naive.Relu(h, a);
        }
        else
        {
            Naive.Gelu(h, a);
        }
        return Affine(a, n, f, e, p["linear2.weight"], p["linear2.bias"]);        // (N, E)
    }

    private static void FeedForwardBackward(DecoderLayerShape shape, float[] dY, float[] x, IReadOnlyDictionary<string, float[]> p,
        IReadOnlyDictionary<string, float[]> dp, float[] dX)
    {
        int n = shape.Batch * shape.TargetSteps, e = shape.Embedding, f = shape.FeedForward;
        float[] h = Affine(x, n, e, f, p["linear1.weight"], p["linear1.bias"]);
        var a = new float[h.Length];
        var da = new float[h.Length];
        var dh = new float[h.Length];
        if (shape.Activation == FeedForwardActivation.Relu)
        {
            Naive.Relu(h, a);
        }
        else
        {
            Naive.Gelu(h, a);
        }
        AffineBackward(dY, a, n, f, e, p["linear2.weight"], dp["linear2.weight"], dp["linear2.bias"], da);
        if (shape.Activation == FeedForwardActivation.Relu)
        {
            Naive.ReluBackward(h, da, dh);   // [relu(h) > 0] = [h > 0]
        }
        else
        {
            Naive.GeluBackward(h, da, dh);
        }
        AffineBackward(dh, x, n, e, f, p["linear1.weight"], dp["linear1.weight"], dp["linear1.bias"], dX);
    }

    /// <summary>y = x Wᵀ + b in double: x (N, In), W (Out, In), y (N, Out).</summary>
    private static float[] Affine(float[] x, int rows, int inFeatures, int outFeatures, float[] w, float[] b)
    {
        var y = new float[rows * outFeatures];
        for (int r = 0; r < rows; r++)
        {
            for (int o = 0; o < outFeatures; o++)
            {
                double sum = b[o];
                for (int i = 0; i < inFeatures; i++)
                {
                    sum += (double)x[r * inFeatures + i] * w[o * inFeatures + i];
                }
                y[r * outFeatures + o] = (float)sum;
            }
        }
        return y;
    }

    /// <summary>dx += dy W, dW += dyᵀ x, db += Σ dy.</summary>
    private static void AffineBackward(float[] dy, float[] x, int rows, int inFeatures, int outFeatures, float[] w, float[] dW, float[] dB, float[] dX)
    {
        for (int r = 0; r < rows; r++)
        {
            for (int o = 0; o < outFeatures; o++)
            {
                double g = dy[r * outFeatures + o];
                dB[o] = (float)(dB[o] + g);
                for (int i = 0; i < inFeatures; i++)
                {
                    dX[r * inFeatures + i] = (float)(dX[r * inFeatures + i] + g * w[o * inFeatures + i]);
                    dW[o * inFeatures + i] = (float)(dW[o * inFeatures + i] + g * x[r * inFeatures + i]);
                }
            }
        }
    }

    private static float[] Sum(float[] a, float[] b)
    {
        var y = new float[a.Length];
        for (int i = 0; i < a.Length; i++)
        {
            y[i] = a[i] + b[i];
        }
        return y;
    }

    private static void Add(float[] y, float[] a)
    {
        for (int i = 0; i < y.Length; i++)
        {
            y[i] += a[i];
        }
    }
}
