using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SpanAttention.Kernels;

/// <summary>
/// Packing: copies a block of op(A) or op(B) into the contiguous, zero-padded micro-panel layout the
/// micro-kernel reads. All four transpose combinations are resolved here, so the micro-kernel sees one
/// layout only and reads both panels with unit stride.
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>
    /// Packs op(A)[ic : ic + mc, pc : pc + kc] into ceil(mc / MR) micro-panels of (kc, MR), panel r at
    /// <c>destination + r·MR·kc</c>, element (i, p) of a panel at <c>p·MR + i</c>. Rows past mc are zeros.
    /// </summary>
    /// <param name="a">A as stored: (m, k) row-major, or (k, m) when <paramref name="transposeA"/>.</param>
    /// <param name="lda">Row stride of A as stored.</param>
    /// <param name="transposeA">Whether op(A) = Aᵀ.</param>
    /// <param name="ic">First row of op(A).</param>
    /// <param name="mc">Rows to pack.</param>
    /// <param name="pc">First column of op(A).</param>
    /// <param name="kc">Columns to pack.</param>
    /// <param name="destination">Packed block: (ceil(mc / MR)·MR, kc) in panel order.</param>
    public static void PackA<TKernel>(float* a, nint lda, Transpose transposeA, int ic, int mc, int pc, int kc, float* destination)
        where TKernel : struct, IGemmKernel
    {
        int mrFull = TKernel.MR;
        for (int ir = 0; ir < mc; ir += mrFull)
        {
            int mr = Math.Min(mrFull, mc - ir);
            float* panel = destination + (nint)ir * kc;
            if (transposeA == Transpose.No)
            {
                // op(A)[i, p] = a[i·lda + p]: each row of the panel is a contiguous run of A's row.
                float* rows = a + (ic + ir) * lda + pc;
                if (Isa.Vector256 && Avx.IsSupported && mrFull == 8 && mr == 8)
                {
                    // A full 8-row panel: 8 x 8 register transposes (a copy: bit-exact), the last kc % 8 steps element by element.
                    int p = 0;
                    for (; p <= kc - 8; p += 8)
                    {
                        Transpose8x8(rows + p, lda, panel + p * 8, 8);
                    }
                    for (; p < kc; p++)
                    {
                        for (int i = 0; i < 8; i++)
                        {
                            panel[p * 8 + i] = rows[i * lda + p];
                        }
                    }
                    continue;
                }
                if (mr < mrFull)
                {
                    new Span<float>(panel, kc * mrFull).Clear();     // the padding rows, in one contiguous pass
                }
                for (int i = 0; i < mr; i++)
                {
                    float* source = rows + i * lda;
                    for (int p = 0; p < kc; p++)
                    {
                        panel[p * mrFull + i] = source[p];
                    }
                }
            }
            else
            {
                // op(A)[i, p] = a[p·lda + i]: the MR values of step p are contiguous in A as stored.
                for (int p = 0; p < kc; p++)
                {
                    float* source = a + (pc + p) * lda + ic + ir;
                    float* target = panel + p * mrFull;
                    if (mr == mrFull)
                    {
                        Unsafe.CopyBlockUnaligned(target, source, (uint)(mrFull * sizeof(float)));
                        continue;
                    }
                    int i = 0;
                    for (; i < mr; i++)
                    {
                        target[i] = source[i];
                    }
                    for (; i < mrFull; i++)
                    {
                        target[i] = 0f;
                    }
                }
            }
        }
    }

    /// <summary>
    /// Packs op(B)[pc : pc + kc, jc : jc + nc] into ceil(nc / NR) micro-panels of (kc, NR), panel r at
    /// <c>destination + r·NR·kc</c>, element (p, j) of a panel at <c>p·NR + j</c>. Columns past nc are zeros.
    /// </summary>
    /// <param name="b">B as stored: (k, n) row-major, or (n, k) when <paramref name="transposeB"/>.</param>
    /// <param name="ldb">Row stride of B as stored.</param>
    /// <param name="transposeB">Whether op(B) = Bᵀ.</param>
    /// <param name="pc">First row of op(B).</param>
    /// <param name="kc">Rows to pack.</param>
    /// <param name="jc">First column of op(B).</param>
    /// <param name="nc">Columns to pack.</param>
    /// <param name="destination">Packed block: (kc, ceil(nc / NR)·NR) in panel order.</param>
    public static void PackB<TKernel>(float* b, nint ldb, Transpose transposeB, int pc, int kc, int jc, int nc, float* destination)
        where TKernel : struct, IGemmKernel
    {
        int nrFull = TKernel.NR;
        for (int jr = 0; jr < nc; jr += nrFull)
        {
            int nr = Math.Min(nrFull, nc - jr);
            float* panel = destination + (nint)jr * kc;
            if (transposeB == Transpose.No)
            {
                // op(B)[p, j] = b[p·ldb + j]: the NR values of step p are contiguous in B as stored.
                for (int p = 0; p < kc; p++)
                {
                    float* source = b + (pc + p) * ldb + jc + jr;
                    float* target = panel + p * nrFull;
                    if (nr == nrFull)
                    {
                        Unsafe.CopyBlockUnaligned(target, source, (uint)(nrFull * sizeof(float)));
                    }
                    else
                    {
                        int j = 0;
                        for (; j < nr; j++)
                        {
                            target[j] = source[j];
                        }
                        for (; j < nrFull; j++)
                        {
                            target[j] = 0f;
                        }
                    }
                }
            }
            else
            {
                // op(B)[p, j] = b[j·ldb + p]: each column of the panel is a contiguous run of B's row j
                // (the X·Wᵀ case with W stored [out, in]). Full panels go through 8 x 8 register transposes
                // (a copy: bit-exact), the rest element by element.
                if (Isa.Vector256 && Avx.IsSupported && nr == nrFull && nrFull % 8 == 0)
                {
                    for (int j8 = 0; j8 < nrFull; j8 += 8)
                    {
                        float* source = b + (jc + jr + j8) * ldb + pc;
                        int p = 0;
                        for (; p <= kc - 8; p += 8)
                        {
                            Transpose8x8(source + p, ldb, panel + p * nrFull + j8, nrFull);
                        }
                        for (; p < kc; p++)
                        {
                            for (int j = 0; j < 8; j++)
                            {
                                panel[p * nrFull + j8 + j] = source[j * ldb + p];
                            }
                        }
                    }
                    continue;
                }
                if (nr < nrFull)
                {
                    new Span<float>(panel, kc * nrFull).Clear();     // the padding columns, in one contiguous pass
                }
                for (int j = 0; j < nr; j++)
                {
                    float* source = b + (jc + jr + j) * ldb + pc;
                    for (int p = 0; p < kc; p++)
                    {
                        panel[p * nrFull + j] = source[p];
                    }
                }
            }
        }
    }

    /// <summary>
    /// Writes the transpose of the 8 x 8 block at <paramref name="source"/> (row stride
    /// <paramref name="ldSource"/>) to <paramref name="destination"/> (row stride <paramref name="ldDestination"/>):
    /// destination[q, r] = source[r, q].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* source, nint ldSource, float* destination, nint ldDestination)
    {
        Vector256<float> r0 = Avx.LoadVector256(source), r1 = Avx.LoadVector256(source + ldSource);
        Vector256<float> r2 = Avx.LoadVector256(source + 2 * ldSource), r3 = Avx.LoadVector256(source + 3 * ldSource);
        Vector256<float> r4 = Avx.LoadVector256(source + 4 * ldSource), r5 = Avx.LoadVector256(source + 5 * ldSource);
        Vector256<float> r6 = Avx.LoadVector256(source + 6 * ldSource), r7 = Avx.LoadVector256(source + 7 * ldSource);
        // Interleave row pairs: t0 = [r0₀ r1₀ r0₁ r1₁ | r0₄ r1₄ r0₅ r1₅], t1 = the same for elements 2, 3 | 6, 7.
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        // Gather four rows: s0 = [r0₀ r1₀ r2₀ r3₀ | r0₄ r1₄ r2₄ r3₄], s1 = elements 1 | 5, s2 = 2 | 6, s3 = 3 | 7.
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
        // Join the 128-bit halves of rows 0-3 and 4-7: column q of the block.
        Avx.Store(destination, Avx.Permute2x128(s0, s4, 0x20));
        Avx.Store(destination + ldDestination, Avx.Permute2x128(s1, s5, 0x20));
        Avx.Store(destination + 2 * ldDestination, Avx.Permute2x128(s2, s6, 0x20));
        Avx.Store(destination + 3 * ldDestination, Avx.Permute2x128(s3, s7, 0x20));
        Avx.Store(destination + 4 * ldDestination, Avx.Permute2x128(s0, s4, 0x31));
        Avx.Store(destination + 5 * ldDestination, Avx.Permute2x128(s1, s5, 0x31));
        Avx.Store(destination + 6 * ldDestination, Avx.Permute2x128(s2, s6, 0x31));
        Avx.Store(destination + 7 * ldDestination, Avx.Permute2x128(s3, s7, 0x31));
    }
}

/// <summary>
/// Per-thread packing buffers, pinned (so the kernels can hold raw pointers) and 64-byte aligned (so a
/// packed row of 16 floats is exactly one cache line). They grow to the largest block a thread has needed
/// and are then reused: a warmed-up GEMM allocates nothing. Each buffer is sized for the kernel's largest
/// block (MC·KC for A, KC·NC for B, about 4 MiB together for the 256-bit kernel) the first time the thread
/// needs it, not for the shape at hand: when two threads share a call, which thread packs the largest block
/// first depends on timing, and growing lazily would let that one-off allocation land after warm-up.
/// </summary>
internal sealed unsafe class GemmWorkspace
{
    [ThreadStatic]
    private static GemmWorkspace? t_current;

    private float[]? _a;
    private float* _aAligned;
    private int _aCapacity;
    private float[]? _b;
    private float* _bAligned;
    private int _bCapacity;

    /// <summary>The calling thread's workspace, created on first use.</summary>
    public static GemmWorkspace Current => t_current ??= new GemmWorkspace();

    /// <summary>A buffer of at least <paramref name="floats"/> for packed A.</summary>
    public float* A(int floats)
    {
        if (floats > _aCapacity)
        {
            _a = Allocate(floats, out _aAligned);
            _aCapacity = floats;
        }
        return _aAligned;
    }

    /// <summary>A buffer of at least <paramref name="floats"/> (at most <paramref name="largest"/>) for packed B.</summary>
    public float* B(int floats, int largest)
    {
        if (floats > _bCapacity)
        {
            // Straight to the largest block the kernel packs (KC x NC): never grow again.
            floats = Math.Max(floats, largest);
            _b = Allocate(floats, out _bAligned);
            _bCapacity = floats;
        }
        return _bAligned;
    }

    /// <summary>A pinned array with room for <paramref name="floats"/> floats from a 64-byte aligned start.</summary>
    internal static float[] Allocate(int floats, out float* aligned)
    {
        float[] array = GC.AllocateUninitializedArray<float>(floats + 16, pinned: true);
        nuint start = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        aligned = (float*)((start + 63) & ~(nuint)63);
        return array;
    }
}
