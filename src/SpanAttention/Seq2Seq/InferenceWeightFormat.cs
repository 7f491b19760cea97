namespace SpanAttention.Seq2Seq;

/// <summary>How <see cref="Seq2SeqModel.PrepareInference(InferenceWeightFormat)"/> stores the matrices a decoder step
/// multiplies by a vector (the recurrent W_hh, W_q, the context columns of W_ih, the bridge, W_c and W_out).</summary>
/// <remarks>
/// A batch-1 decoder step is bound by how fast these weights stream in from the caches, so narrower storage is faster;
/// the kernels widen each weight back to fp32 in registers and accumulate in fp32. Lookup tables, biases, embeddings and
/// the once-per-sentence key projections stay fp32. The narrow formats change results by about their rounding error
/// (bf16: ≤ 2⁻⁸ relative per weight; int8: ≤ half a row's scale max|w|/127 per weight), so an output token can differ
/// from the fp32 one where two candidates are nearly tied.
/// </remarks>
#pragma warning disable CA1720 // the members are named after the number formats they store (fp32, bf16, int8)
public enum InferenceWeightFormat
{
    /// <summary>fp32: the trained weights exactly (the default).</summary>
    Float32,

    /// <summary>bfloat16, rounded to nearest even: half the bytes.</summary>
    BFloat16,

    /// <summary>Symmetric int8 with one fp32 scale per row (max |w| / 127): a quarter of the bytes.</summary>
    Int8,
}
#pragma warning restore CA1720
