using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SpanAttention.Kernels;

/// <summary>
/// One register-blocked GEMM micro-kernel and the block sizes that feed it. The five GEMM loops in
/// <see cref="Gemm"/> are generic over this interface, so every constant below is a JIT-time constant and
/// each kernel gets its own specialised copy of the loops (no dispatch in the hot path).
/// </summary>
/// <remarks>
/// The micro-kernel computes one MR x NR tile of C from a packed A micro-panel (kc x MR, p-major: the MR
/// values of column p of A's tile are adjacent) and a packed B micro-panel (kc x NR, p-major: the NR values
/// of row p of B's tile are adjacent):
/// <code>
/// acc[i, j] = Σ_{p &lt; kc} a[p·MR + i] · b[p·NR + j]     (in this order, starting from 0)
/// C[i, j]   = acc[i, j]             when overwrite
/// C[i, j]   = C[i, j] + acc[i, j]   otherwise
/// </code>
/// Always summing from 0 and adding the finished tile to C (rather than starting from C) is what makes an
/// element's value independent of which tile, edge or full, and which thread computed it.
/// </remarks>
internal unsafe interface IGemmKernel
{
    /// <summary>Rows of the register tile (broadcast A values).</summary>
    static abstract int MR { get; }

    /// <summary>Columns of the register tile (vector lanes of B).</summary>
    static abstract int NR { get; }

    /// <summary>Depth of one packed slice of k: a KC x NR micro-panel of B stays in L1.</summary>
    static abstract int KC { get; }

    /// <summary>Rows of the packed A block: an MC x KC block of A stays in L2.</summary>
    static abstract int MC { get; }

    /// <summary>Columns of the packed B block: a KC x NC block of B stays in L3.</summary>
    static abstract int NC { get; }

    /// <summary>Computes a full MR x NR tile (see the interface remarks).</summary>
    /// <param name="kc">Depth of the panels.</param>
    /// <param name="a">Packed A micro-panel: (kc, MR).</param>
    /// <param name="b">Packed B micro-panel: (kc, NR).</param>
    /// <param name="c">Top-left element of the C tile: (MR, NR) with row stride <paramref name="ldc"/>.</param>
    /// <param name="ldc">Row stride of C.</param>
    /// <param name="overwrite">Store the tile instead of adding it to C.</param>
    static abstract void Run(int kc, float* a, float* b, float* c, nint ldc, bool overwrite);

    /// <summary>
    /// Computes only the first MR/2 rows of the tile, from the same packed panels: for edge tiles of at most
    /// MR/2 rows (e.g. the last 2 rows of a batch of 32 with MR = 6), at about half the cost of a full tile.
    /// Each element is summed exactly as in <see cref="Run"/>, so results do not depend on which was used.
    /// </summary>
    static abstract void RunHalf(int kc, float* a, float* b, float* c, nint ldc, bool overwrite);
}

/// <summary>Edge tiles: the micro-kernels run at full size into a scratch tile, then the valid part is merged.</summary>
internal static unsafe class GemmEdge
{
    /// <summary>
    /// Computes an mr x nr corner (mr &lt;= MR, nr &lt;= NR) of a tile. The packed panels are zero-padded, so
    /// the full-size kernel is safe to run; it writes to <paramref name="tile"/> and only the valid part
    /// reaches C, with exactly the arithmetic of a full tile (C + acc, or acc).
    /// </summary>
    /// <param name="kc">Depth of the panels.</param>
    /// <param name="a">Packed A micro-panel: (kc, MR).</param>
    /// <param name="b">Packed B micro-panel: (kc, NR).</param>
    /// <param name="c">Top-left element of the C corner: (mr, nr) with row stride <paramref name="ldc"/>.</param>
    /// <param name="ldc">Row stride of C.</param>
    /// <param name="mr">Valid rows.</param>
    /// <param name="nr">Valid columns.</param>
    /// <param name="overwrite">Store instead of adding.</param>
    /// <param name="tile">Scratch: (MR, NR).</param>
    public static void Run<TKernel>(int kc, float* a, float* b, float* c, nint ldc, int mr, int nr, bool overwrite, float* tile)
        where TKernel : struct, IGemmKernel
    {
        if (mr <= TKernel.MR / 2)
        {
            TKernel.RunHalf(kc, a, b, tile, TKernel.NR, overwrite: true);
        }
        else
        {
            TKernel.Run(kc, a, b, tile, TKernel.NR, overwrite: true);
        }
        for (int i = 0; i < mr; i++)
        {
            float* cRow = c + i * ldc;
            float* tRow = tile + i * TKernel.NR;
            if (overwrite)
            {
                for (int j = 0; j < nr; j++)
                {
                    cRow[j] = tRow[j];
                }
            }
            else
            {
                for (int j = 0; j < nr; j++)
                {
                    cRow[j] += tRow[j];
                }
            }
        }
    }
}

/// <summary>
/// AVX2/FMA micro-kernel (this Zen 3 machine): a 6 x 16 tile = 12 ymm accumulators, plus 2 ymm for a row
/// of B and 1 for the broadcast A value: 15 of the 16 ymm registers. Per step p: 2 loads + 6 broadcasts
/// feed 12 independent FMAs, enough to cover the FMA latency (4 cycles) on both FMA pipes.
/// </summary>
internal readonly struct Kernel6x16 : IGemmKernel
{
    /// <inheritdoc/>
    public static int MR => 6;

    /// <inheritdoc/>
    public static int NR => 16;

    /// <summary>256 x 16 floats = 16 KiB of B micro-panel: half of Zen 3's 32 KiB L1d, the other half for A micro-panels and C.</summary>
    public static int KC => 256;

    /// <summary>144 x 256 floats = 144 KiB of packed A: well inside the 512 KiB L2 next to streamed B panels. Multiple of MR.</summary>
    public static int MC => 144;

    /// <summary>256 x 4080 floats ≈ 4 MiB of packed B per thread: inside the 32 MiB shared L3. Multiple of NR.</summary>
    public static int NC => 4080;

    /// <inheritdoc/>
    public static unsafe void Run(int kc, float* a, float* b, float* c, nint ldc, bool overwrite)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            // One rank-1 update: C_tile += A[:, p] · B[p, :].
            Vector256<float> b0 = Vector256.Load(b);
            Vector256<float> b1 = Vector256.Load(b + 8);
            Vector256<float> ai = Vector256.Create(a[0]);
            c00 = Vector256.FusedMultiplyAdd(ai, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector256.Create(a[1]);
            c10 = Vector256.FusedMultiplyAdd(ai, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector256.Create(a[2]);
            c20 = Vector256.FusedMultiplyAdd(ai, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector256.Create(a[3]);
            c30 = Vector256.FusedMultiplyAdd(ai, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(ai, b1, c31);
            ai = Vector256.Create(a[4]);
            c40 = Vector256.FusedMultiplyAdd(ai, b0, c40);
            c41 = Vector256.FusedMultiplyAdd(ai, b1, c41);
            ai = Vector256.Create(a[5]);
            c50 = Vector256.FusedMultiplyAdd(ai, b0, c50);
            c51 = Vector256.FusedMultiplyAdd(ai, b1, c51);
            a += 6;
            b += 16;
        }
        StoreRow(c, c00, c01, overwrite);
        StoreRow(c + ldc, c10, c11, overwrite);
        StoreRow(c + 2 * ldc, c20, c21, overwrite);
        StoreRow(c + 3 * ldc, c30, c31, overwrite);
        StoreRow(c + 4 * ldc, c40, c41, overwrite);
        StoreRow(c + 5 * ldc, c50, c51, overwrite);
    }

    /// <inheritdoc/>
    public static unsafe void RunHalf(int kc, float* a, float* b, float* c, nint ldc, bool overwrite)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<float> b0 = Vector256.Load(b);
            Vector256<float> b1 = Vector256.Load(b + 8);
            Vector256<float> ai = Vector256.Create(a[0]);
            c00 = Vector256.FusedMultiplyAdd(ai, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector256.Create(a[1]);
            c10 = Vector256.FusedMultiplyAdd(ai, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector256.Create(a[2]);
            c20 = Vector256.FusedMultiplyAdd(ai, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(ai, b1, c21);
            a += 6;
            b += 16;
        }
        StoreRow(c, c00, c01, overwrite);
        StoreRow(c + ldc, c10, c11, overwrite);
        StoreRow(c + 2 * ldc, c20, c21, overwrite);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreRow(float* c, Vector256<float> x0, Vector256<float> x1, bool overwrite)
    {
        if (!overwrite)
        {
            x0 = Vector256.Load(c) + x0;
            x1 = Vector256.Load(c + 8) + x1;
        }
        x0.Store(c);
        x1.Store(c + 8);
    }
}

/// <summary>
/// AVX-512 micro-kernel used on Zen 4 / Zen 5 (and Intel AVX-512 cores): an 8 x 32 tile = 16 zmm accumulators,
/// plus 2 zmm for a row of B and 1 for the broadcast. Per step: 2 loads + 8 broadcasts feed 16 independent FMAs,
/// which still covers 2 FMA pipes x 4-cycle latency and keeps loads (10 per 16 FMAs) under the two load ports'
/// rate. It replaced a 12 x 32 kernel (24 accumulators) because the training GEMMs have M = B = 32 rows per
/// decoder step (and T·B = 1024 over all steps): 32 = 4 x 8 has no edge tile, where 32 = 12 + 12 + 8 spent a
/// third of its tiles in a 12-row kernel run into scratch (GemmEdge). Measured on Zen 5, one thread: training at
/// B = 32 went from 18,978 to 21,732 tokens/s at H = 256 and from 1,353 to 1,671 at H = 1024 (docs/performance.md).
/// </summary>
internal readonly struct Kernel8x32 : IGemmKernel
{
    /// <inheritdoc/>
    public static int MR => 8;

    /// <inheritdoc/>
    public static int NR => 32;

    /// <summary>192 x 32 floats = 24 KiB of B micro-panel: 3/4 of Zen 4's 32 KiB L1d, half of Zen 5's 48 KiB.</summary>
    public static int KC => 192;

    /// <summary>384 x 192 floats = 288 KiB of packed A: a comfortable share of the 1 MiB L2 of Zen 4/5. Multiple of MR.</summary>
    public static int MC => 384;

    /// <summary>192 x 4096 floats = 3 MiB of packed B per thread: inside the 32 MiB L3. Multiple of NR.</summary>
    public static int NC => 4096;

    /// <inheritdoc/>
    public static unsafe void Run(int kc, float* a, float* b, float* c, nint ldc, bool overwrite)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b);
            Vector512<float> b1 = Vector512.Load(b + 16);
            Vector512<float> ai = Vector512.Create(a[0]);
            c00 = Vector512.FusedMultiplyAdd(ai, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector512.Create(a[1]);
            c10 = Vector512.FusedMultiplyAdd(ai, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector512.Create(a[2]);
            c20 = Vector512.FusedMultiplyAdd(ai, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector512.Create(a[3]);
            c30 = Vector512.FusedMultiplyAdd(ai, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
            ai = Vector512.Create(a[4]);
            c40 = Vector512.FusedMultiplyAdd(ai, b0, c40);
            c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
            ai = Vector512.Create(a[5]);
            c50 = Vector512.FusedMultiplyAdd(ai, b0, c50);
            c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
            ai = Vector512.Create(a[6]);
            c60 = Vector512.FusedMultiplyAdd(ai, b0, c60);
            c61 = Vector512.FusedMultiplyAdd(ai, b1, c61);
            ai = Vector512.Create(a[7]);
            c70 = Vector512.FusedMultiplyAdd(ai, b0, c70);
            c71 = Vector512.FusedMultiplyAdd(ai, b1, c71);
            a += 8;
            b += 32;
        }
        StoreRow(c, c00, c01, overwrite);
        StoreRow(c + ldc, c10, c11, overwrite);
        StoreRow(c + 2 * ldc, c20, c21, overwrite);
        StoreRow(c + 3 * ldc, c30, c31, overwrite);
        StoreRow(c + 4 * ldc, c40, c41, overwrite);
        StoreRow(c + 5 * ldc, c50, c51, overwrite);
        StoreRow(c + 6 * ldc, c60, c61, overwrite);
        StoreRow(c + 7 * ldc, c70, c71, overwrite);
    }

    /// <inheritdoc/>
    public static unsafe void RunHalf(int kc, float* a, float* b, float* c, nint ldc, bool overwrite)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b);
            Vector512<float> b1 = Vector512.Load(b + 16);
            Vector512<float> ai = Vector512.Create(a[0]);
            c00 = Vector512.FusedMultiplyAdd(ai, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector512.Create(a[1]);
            c10 = Vector512.FusedMultiplyAdd(ai, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector512.Create(a[2]);
            c20 = Vector512.FusedMultiplyAdd(ai, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector512.Create(a[3]);
            c30 = Vector512.FusedMultiplyAdd(ai, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
            a += 8;
            b += 32;
        }
        StoreRow(c, c00, c01, overwrite);
        StoreRow(c + ldc, c10, c11, overwrite);
        StoreRow(c + 2 * ldc, c20, c21, overwrite);
        StoreRow(c + 3 * ldc, c30, c31, overwrite);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreRow(float* c, Vector512<float> x0, Vector512<float> x1, bool overwrite)
    {
        if (!overwrite)
        {
            x0 = Vector512.Load(c) + x0;
            x1 = Vector512.Load(c + 16) + x1;
        }
        x0.Store(c);
        x1.Store(c + 16);
    }
}

/// <summary>
/// Scalar micro-kernel (no SIMD available, e.g. DOTNET_EnableHWIntrinsic=0): a 4 x 4 tile of 16 float
/// accumulators, which fit the 16 x64 scalar registers. Plain multiply-then-add (no fused multiply-add:
/// without hardware FMA it would be a slow software call).
/// </summary>
internal readonly struct Kernel4x4 : IGemmKernel
{
    /// <inheritdoc/>
    public static int MR => 4;

    /// <inheritdoc/>
    public static int NR => 4;

    /// <summary>Same L1 reasoning as the vector kernels; at scalar speed it hardly matters.</summary>
    public static int KC => 256;

    /// <summary>128 x 256 floats = 128 KiB of packed A in L2.</summary>
    public static int MC => 128;

    /// <summary>256 x 4096 floats = 4 MiB of packed B in L3.</summary>
    public static int NC => 4096;

    /// <inheritdoc/>
    public static unsafe void Run(int kc, float* a, float* b, float* c, nint ldc, bool overwrite)
    {
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (int p = 0; p < kc; p++)
        {
            float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
            float ai = a[0];
            c00 += ai * b0; c01 += ai * b1; c02 += ai * b2; c03 += ai * b3;
            ai = a[1];
            c10 += ai * b0; c11 += ai * b1; c12 += ai * b2; c13 += ai * b3;
            ai = a[2];
            c20 += ai * b0; c21 += ai * b1; c22 += ai * b2; c23 += ai * b3;
            ai = a[3];
            c30 += ai * b0; c31 += ai * b1; c32 += ai * b2; c33 += ai * b3;
            a += 4;
            b += 4;
        }
        StoreRow(c, c00, c01, c02, c03, overwrite);
        StoreRow(c + ldc, c10, c11, c12, c13, overwrite);
        StoreRow(c + 2 * ldc, c20, c21, c22, c23, overwrite);
        StoreRow(c + 3 * ldc, c30, c31, c32, c33, overwrite);
    }

    /// <inheritdoc/>
    public static unsafe void RunHalf(int kc, float* a, float* b, float* c, nint ldc, bool overwrite)
    {
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        for (int p = 0; p < kc; p++)
        {
            float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
            float ai = a[0];
            c00 += ai * b0; c01 += ai * b1; c02 += ai * b2; c03 += ai * b3;
            ai = a[1];
            c10 += ai * b0; c11 += ai * b1; c12 += ai * b2; c13 += ai * b3;
            a += 4;
            b += 4;
        }
        StoreRow(c, c00, c01, c02, c03, overwrite);
        StoreRow(c + ldc, c10, c11, c12, c13, overwrite);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreRow(float* c, float x0, float x1, float x2, float x3, bool overwrite)
    {
        if (overwrite)
        {
            c[0] = x0; c[1] = x1; c[2] = x2; c[3] = x3;
        }
        else
        {
            c[0] += x0; c[1] += x1; c[2] += x2; c[3] += x3;
        }
    }
}
