using System.Numerics.Tensors;
using SpanAttention.Kernels;
using SpanAttention.Parameters;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// The gating scalar of Show, Attend and Tell (Xu et al. 2015, section 4.2.1): the decoder reads the context scaled by
/// β_t = σ(f_β(h_{t-1})), a learned scalar per row and step, so that it can lean on the language model (β near 0) for
/// words such as "a" or "of" and on the image (β near 1) for the words that name what is there.
/// </summary>
/// <remarks>
/// <para>Parameters: <c>decoder.f_beta.weight</c> (1, H), <c>decoder.f_beta.bias</c> (1), as <c>nn.Linear(H, 1)</c>.</para>
/// <para>Forward (per row b): z_b = w · h_b + b_β; β_b = σ(z_b); g_b = β_b c_b. Backward: dβ_b = dg_b · c_b;
/// dz_b = dβ_b β_b (1 - β_b); dw += dz_b h_b; db_β += dz_b; dh_b += dz_b w; dc_b = β_b dg_b.</para>
/// </remarks>
internal sealed class ContextGate
{
    private readonly int _h;

    /// <summary>Registers <c>{name}.weight</c> (1, H) and <c>{name}.bias</c> (1).</summary>
    public ContextGate(ParameterLayout layout, string name, int hidden)
    {
        _h = hidden;
        Weight = layout.Add(name + ".weight", 1, hidden);
        Bias = layout.Add(name + ".bias", 1);
    }

    /// <summary>w: (1, H).</summary>
    public ParameterSlot Weight { get; }

    /// <summary>b_β: (1).</summary>
    public ParameterSlot Bias { get; }

    /// <summary>PyTorch's nn.Linear initialisation: U(-1/sqrt(H), 1/sqrt(H)) for the weight and the bias.</summary>
    public void Initialize(ParameterSet parameters, Random random)
    {
        float bound = 1f / MathF.Sqrt(_h);
        parameters.InitializeUniform(Weight, bound, random);
        parameters.InitializeUniform(Bias, bound, random);
    }

    /// <summary>β = σ(h wᵀ + b_β); gated = β ⊙ context, row by row.</summary>
    /// <param name="values">All parameter values.</param>
    /// <param name="query">h_{t-1}: (B, H).</param>
    /// <param name="context">c_t: (B, Dc).</param>
    /// <param name="rows">B.</param>
    /// <param name="beta">β_t: (B). Overwritten.</param>
    /// <param name="gated">g_t: (B, Dc). Overwritten.</param>
    public void Forward(ReadOnlySpan<float> values, ReadOnlySpan<float> query, ReadOnlySpan<float> context, int rows, Span<float> beta, Span<float> gated)
    {
        int h = _h, dc = context.Length / Math.Max(rows, 1);
        for (int b = 0; b < rows; b++)
        {
            float g = Beta(values, query.Slice(b * h, h));                 // β = σ(w · h + b_β)
            beta[b] = g;
            TensorPrimitives.Multiply(context.Slice(b * dc, dc), g, gated.Slice(b * dc, dc)); // g = β c
        }
    }

    /// <summary>
    /// Backward of <see cref="Forward"/>: turns d(gated) into d(context) in place, and accumulates d(query) and the gate's
    /// parameter gradients.
    /// </summary>
    /// <param name="dGated">On entry dg_t (B, Dc); on return dc_t = β ⊙ dg_t.</param>
    /// <param name="values">All parameter values.</param>
    /// <param name="query">h_{t-1}: (B, H), as given to forward.</param>
    /// <param name="context">c_t: (B, Dc), as given to forward.</param>
    /// <param name="beta">β_t: (B), forward's output.</param>
    /// <param name="rows">B.</param>
    /// <param name="gradients">All parameter gradients. Accumulated.</param>
    /// <param name="dQuery">dh_{t-1}: (B, H). Accumulated.</param>
    public void Backward(Span<float> dGated, ReadOnlySpan<float> values, ReadOnlySpan<float> query, ReadOnlySpan<float> context,
        ReadOnlySpan<float> beta, int rows, Span<float> gradients, Span<float> dQuery)
    {
        int h = _h, dc = context.Length / Math.Max(rows, 1);
        ReadOnlySpan<float> w = Weight.Of(values);
        Span<float> dw = Weight.Of(gradients), dBias = Bias.Of(gradients);
        for (int b = 0; b < rows; b++)
        {
            Span<float> dg = dGated.Slice(b * dc, dc);
            float g = beta[b];
            float dz = Reductions.Dot(dg, context.Slice(b * dc, dc)) * g * (1f - g); // dz = (dg · c) β (1 - β)
            TensorPrimitives.MultiplyAdd(query.Slice(b * h, h), dz, dw, dw);          // dw += dz h
            dBias[0] += dz;                                                           // db_β += dz
            Span<float> dh = dQuery.Slice(b * h, h);
            TensorPrimitives.MultiplyAdd(w, dz, dh, dh);                              // dh += dz w
            TensorPrimitives.Multiply(dg, g, dg);                                     // dc = β dg
        }
    }

    /// <summary>One row's β = σ(w · h + b_β) (the prepared decoding path).</summary>
    public float Beta(ReadOnlySpan<float> values, ReadOnlySpan<float> query) =>
        1f / (1f + MathF.Exp(-(Reductions.Dot(Weight.Of(values), query) + Bias.Of(values)[0])));
}
