using System.Numerics.Tensors;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// Inverted dropout (PyTorch's <c>nn.Dropout</c> semantics) with masks from a counter-based hash instead of a shared
/// random stream, so a mask element depends only on (seed, step, tensor, index): the same for one or two trainer
/// threads (the index counts rows of the whole batch), the same in the + and − evaluations of a finite-difference
/// check, and the same after resuming a checkpoint (which restores the step).
/// </summary>
/// <remarks>
/// <code>
/// key    = Mix(Mix(seed + G·(step + 1)) + G·(tensor + 1))      G = 0x9E3779B97F4A7C15, Mix = SplitMix64's output function
/// u_i    = (Mix(key + G·(i + 1)) &gt;&gt; 40) · 2^-24                  uniform in [0, 1), 24 bits
/// mask_i = u_i &lt; p ? 0 : 1/(1 − p)                                 kept with probability 1 − p, scaled so E[mask_i] = 1
/// forward:  y = x ⊙ mask          backward:  dx = dy ⊙ mask
/// </code>
/// The mask stores the scale itself (0 or 1/(1−p)), so forward and backward are one multiply each. tools/pytorch/
/// seq2seq_reference.py computes the same masks in Python for the golden files.
/// </remarks>
internal static class Dropout
{
    /// <summary>Tensor ids of the model's three dropout sites (part of the hash key).</summary>
    public const int SourceEmbedding = 0, TargetEmbedding = 1, DecoderOutput = 2;

    /// <summary>The per-(seed, step, tensor) key of the hash.</summary>
    /// <param name="seed">The trainer's seed.</param>
    /// <param name="step">The global step (1-based in the trainer).</param>
    /// <param name="tensor">Which dropout site (<see cref="SourceEmbedding"/>, ...).</param>
    /// <returns>The key.</returns>
    public static ulong Key(ulong seed, long step, int tensor) =>
        SplitMix64.Mix(SplitMix64.Mix(seed + SplitMix64.Golden * ((ulong)step + 1)) + SplitMix64.Golden * ((ulong)tensor + 1));

    /// <summary>Fills mask elements first .. first + n − 1 of the tensor with key <paramref name="key"/>.</summary>
    /// <param name="key">From <see cref="Key"/>.</param>
    /// <param name="first">Index (in the whole-batch tensor) of <c>mask[0]</c>.</param>
    /// <param name="p">Drop probability in [0, 1).</param>
    /// <param name="mask">Output (n): 0 or 1/(1 − p). Overwritten.</param>
    public static void FillMask(ulong key, long first, float p, Span<float> mask)
    {
        float scale = 1f / (1f - p);
        ulong k = key + SplitMix64.Golden * ((ulong)first + 1);
        for (int i = 0; i < mask.Length; i++)
        {
            float u = (SplitMix64.Mix(k) >> 40) * (1f / (1 << 24));
            mask[i] = u < p ? 0f : scale;
            k += SplitMix64.Golden;
        }
    }

    /// <summary>y = x ⊙ mask in place (forward), or dx = dy ⊙ mask in place (backward: the same operation).</summary>
    /// <param name="x">Values or gradients (n). Overwritten.</param>
    /// <param name="mask">From <see cref="FillMask"/> (n).</param>
    public static void Apply(Span<float> x, ReadOnlySpan<float> mask) => TensorPrimitives.Multiply(x, mask, x);
}
