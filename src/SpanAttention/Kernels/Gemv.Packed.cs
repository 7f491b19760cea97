using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SpanAttention.Kernels;

public static partial class Gemv
{
    /// <summary>y = W·x, or y += W·x when <paramref name="accumulate"/> is true, with W packed once.</summary>
    /// <param name="w">W: (rows, cols), packed by <see cref="PackedGemvMatrix.Pack"/>.</param>
    /// <param name="x">x: (cols).</param>
    /// <param name="y">y: (rows); must not overlap x.</param>
    /// <param name="accumulate">Add to y instead of overwriting it.</param>
    /// <remarks>
    /// Effectively computes y[i] (+)= Σ_j W[i, j] x[j], like the unpacked overload, but reads W as one
    /// contiguous stream of 4 x 16 tiles: per tile, x's 16 floats are loaded once and multiplied into the
    /// four rows' accumulators. The zero-padded last tile meets a zero-padded copy of x's tail, so there is
    /// no column remainder; padding rows are computed and dropped. A bf16 or int8 matrix (inference) is widened to fp32
    /// in registers and accumulated in fp32 the same way (Gemv.Packed.Narrow.cs); int8 rows are then scaled by s_i. Calls of at least
    /// <see cref="KernelThreads.ParallelThresholdFlops"/> (2·rows·cols) with at least 128 row groups are split by
    /// row groups between the caller and the kernel worker when <see cref="KernelThreads.Count"/> is 2 (a batch-1
    /// GEMV is bound by memory bandwidth: two cores stream faster); the result is bit-identical for any thread count.
    /// </remarks>
    public static void Multiply(PackedGemvMatrix w, ReadOnlySpan<float> x, Span<float> y, bool accumulate)
    {
        ArgumentNullException.ThrowIfNull(w);
        int rows = w.Rows;
        int cols = w.Cols;
        Guard.Length(x.Length, cols, nameof(x));
        Guard.Length(y.Length, rows, nameof(y));
        if (rows == 0)
        {
            return;
        }
        if (cols == 0)
        {
            if (!accumulate)
            {
                y.Slice(0, rows).Clear();
            }
            return;
        }

        // x's last partial tile, zero-padded to a whole tile, so the kernel only ever loads full vectors.
        int fullTiles = cols / PackedGemvMatrix.Lanes;
        Span<float> xTail = stackalloc float[PackedGemvMatrix.Lanes];
        xTail.Clear();
        x.Slice(fullTiles * PackedGemvMatrix.Lanes, cols - fullTiles * PackedGemvMatrix.Lanes).CopyTo(xTail);

        ref byte rp = ref MemoryMarshal.GetReference(w.Bytes);
        ref float rs = ref MemoryMarshal.GetReference(w.Scales);
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float rt = ref MemoryMarshal.GetReference(xTail);
        ref float ry = ref MemoryMarshal.GetReference(y);
        if (KernelThreads.For(2L * rows * cols) >= 2 && w.Groups >= 2 * PackedSplitMinGroups
            && MultiplySplit(w.Element, ref rp, ref rs, ref rx, ref rt, ref ry, w.Groups, w.Tiles, fullTiles, rows, accumulate))
        {
            return;
        }
        MultiplyGroups(w.Element, ref rp, ref rs, ref rx, ref rt, ref ry, w.Tiles, fullTiles, rows, 0, w.Groups, accumulate);
    }

    /// <summary>Rows of groups [gStart, gEnd) for any element type: the fp32 kernel or a widening one.</summary>
    private static void MultiplyGroups(PackedElement element, ref byte rp, ref float scales, ref float rx, ref float rt, ref float ry,
        int tiles, int fullTiles, int rows, int gStart, int gEnd, bool accumulate)
    {
        switch (element)
        {
            case PackedElement.Float32:
                MultiplyGroups(ref Unsafe.As<byte, float>(ref rp), ref rx, ref rt, ref ry, tiles, fullTiles, rows, gStart, gEnd, accumulate);
                break;
            case PackedElement.BFloat16:
                MultiplyGroupsBFloat16(ref rp, ref rx, ref rt, ref ry, tiles, fullTiles, rows, gStart, gEnd, accumulate);
                break;
            default:
                MultiplyGroupsInt8(ref rp, ref scales, ref rx, ref rt, ref ry, tiles, fullTiles, rows, gStart, gEnd, accumulate);
                break;
        }
    }

    /// <summary>Fewest four-row groups each part of a split packed GEMV gets (below 2 × this, no split).</summary>
    private const int PackedSplitMinGroups = 64;

    /// <summary>A packed GEMV split by row groups between the caller and the kernel worker; lives on the caller's stack.</summary>
    private unsafe struct PackedGemvJob
    {
        public byte* P;                    // packed W (pinned): valid while the caller waits
        public float* Scales, X, XTail, Y; // int8 row scales, x, x's padded tail, y
        public int Groups, Tiles, FullTiles, Rows, Parts;
        public PackedElement Element;
        public bool Accumulate;
    }

    /// <summary>
    /// Splits the row groups into 2 parts (4 when W is over 16 MB, so a busy core costs less), each an independent
    /// packed GEMV over its rows: every y element is computed by one thread in the same order as single-threaded, so
    /// the result is bit-identical for any thread count. Returns false (nothing done) when the worker is taken.
    /// At batch 1 a GEMV is bound by memory bandwidth, so the second core's bandwidth is what this buys.
    /// </summary>
    private static unsafe bool MultiplySplit(PackedElement element, ref byte p, ref float scales, ref float x, ref float xTail, ref float y,
        int groups, int tiles, int fullTiles, int rows, bool accumulate)
    {
        long bytes = (long)groups * tiles * PackedGemvMatrix.TileSize * PackedGemvMatrix.ElementBytes(element);
        int parts = bytes >= 16L << 20 ? 4 : 2;
        fixed (byte* pp = &p)
        fixed (float* ps = &scales, px = &x, pt = &xTail, py = &y)
        {
            var job = new PackedGemvJob
            {
                P = pp, Scales = ps, X = px, XTail = pt, Y = py, Element = element,
                Groups = groups, Tiles = tiles, FullTiles = fullTiles, Rows = rows, Parts = parts, Accumulate = accumulate,
            };
            return KernelWorker.TryInvoke(&RunPackedPart, &job, parts);
        }
    }

    private static unsafe void RunPackedPart(void* state, int part)
    {
        var job = (PackedGemvJob*)state;
        int per = (job->Groups + job->Parts - 1) / job->Parts;
        int start = part * per, end = Math.Min(job->Groups, start + per);
        if (start < end)
        {
            MultiplyGroups(job->Element, ref *job->P, ref *job->Scales, ref *job->X, ref *job->XTail, ref *job->Y,
                job->Tiles, job->FullTiles, job->Rows, start, end, job->Accumulate);
        }
    }

    /// <summary>Single-threaded packed GEMV over the whole matrix (tests: the reference a split call must equal bit for bit).</summary>
    internal static void MultiplySingleThreaded(PackedGemvMatrix w, ReadOnlySpan<float> x, Span<float> y, bool accumulate)
    {
        int cols = w.Cols, fullTiles = cols / PackedGemvMatrix.Lanes;
        Span<float> xTail = stackalloc float[PackedGemvMatrix.Lanes];
        xTail.Clear();
        x.Slice(fullTiles * PackedGemvMatrix.Lanes, cols - fullTiles * PackedGemvMatrix.Lanes).CopyTo(xTail);
        MultiplyGroups(w.Element, ref MemoryMarshal.GetReference(w.Bytes), ref MemoryMarshal.GetReference(w.Scales), ref MemoryMarshal.GetReference(x),
            ref MemoryMarshal.GetReference(xTail), ref MemoryMarshal.GetReference(y), w.Tiles, fullTiles, w.Rows, 0, w.Groups, accumulate);
    }

    /// <summary>y rows of groups [gStart, gEnd): the four-row micro-kernel per group, widest ISA first.</summary>
    private static void MultiplyGroups(ref float rp, ref float rx, ref float rt, ref float ry, int tiles, int fullTiles, int rows, int gStart, int gEnd, bool accumulate)
    {
        nuint groupSize = (nuint)tiles * PackedGemvMatrix.TileSize;
        for (int g = gStart; g < gEnd; g++)
        {
            ref float p = ref Unsafe.Add(ref rp, (nuint)g * groupSize);
            float s0, s1, s2, s3;
            if (Isa.Vector512)
            {
                PackedDot4Vector512(ref p, ref rx, ref rt, tiles, fullTiles, out s0, out s1, out s2, out s3);
            }
            else if (Isa.Vector256)
            {
                PackedDot4Vector256(ref p, ref rx, ref rt, tiles, fullTiles, out s0, out s1, out s2, out s3);
            }
            else
            {
                PackedDot4Scalar(ref p, ref rx, ref rt, tiles, fullTiles, out s0, out s1, out s2, out s3);
            }
            StoreGroup(ref ry, g, rows, s0, s1, s2, s3, accumulate);
        }
    }

    /// <summary>One group, 512-bit: each tile row is one vector; two tiles per step give eight FMA chains.</summary>
    private static void PackedDot4Vector512(ref float p, ref float x, ref float xTail, int tiles, int fullTiles,
        out float s0, out float s1, out float s2, out float s3)
    {
        const int L = PackedGemvMatrix.Lanes;       // 16 = Vector512<float>.Count
        const int T = PackedGemvMatrix.TileSize;    // 64
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        nuint t = 0;
        for (; t + 2 <= (nuint)fullTiles; t += 2)
        {
            ref float q = ref Unsafe.Add(ref p, t * T);
            Vector512<float> xa = Vector512.LoadUnsafe(ref x, t * L);
            Vector512<float> xb = Vector512.LoadUnsafe(ref x, t * L + L);
            a0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref q, 0 * L), xa, a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref q, 1 * L), xa, a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref q, 2 * L), xa, a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref q, 3 * L), xa, a3);
            b0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref q, T + 0 * L), xb, b0);
            b1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref q, T + 1 * L), xb, b1);
            b2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref q, T + 2 * L), xb, b2);
            b3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref q, T + 3 * L), xb, b3);
        }
        for (; t < (nuint)tiles; t++)
        {
            ref float q = ref Unsafe.Add(ref p, t * T);
            Vector512<float> xa = t < (nuint)fullTiles ? Vector512.LoadUnsafe(ref x, t * L) : Vector512.LoadUnsafe(ref xTail);
            a0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref q, 0 * L), xa, a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref q, 1 * L), xa, a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref q, 2 * L), xa, a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref q, 3 * L), xa, a3);
        }
        s0 = Vector512.Sum(a0 + b0);
        s1 = Vector512.Sum(a1 + b1);
        s2 = Vector512.Sum(a2 + b2);
        s3 = Vector512.Sum(a3 + b3);
    }

    /// <summary>One group, 256-bit: each tile row is two vectors (columns 0-7 and 8-15), eight FMA chains.</summary>
    private static void PackedDot4Vector256(ref float p, ref float x, ref float xTail, int tiles, int fullTiles,
        out float s0, out float s1, out float s2, out float s3)
    {
        const int L = PackedGemvMatrix.Lanes;       // 16
        const int H = 8;                            // Vector256<float>.Count: half a tile row
        const int T = PackedGemvMatrix.TileSize;    // 64
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (nuint t = 0; t < (nuint)tiles; t++)
        {
            ref float q = ref Unsafe.Add(ref p, t * T);
            ref float xt = ref t < (nuint)fullTiles ? ref Unsafe.Add(ref x, t * L) : ref xTail;
            Vector256<float> xa = Vector256.LoadUnsafe(ref xt);
            Vector256<float> xb = Vector256.LoadUnsafe(ref xt, H);
            a0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref q, 0 * L), xa, a0);
            b0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref q, 0 * L + H), xb, b0);
            a1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref q, 1 * L), xa, a1);
            b1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref q, 1 * L + H), xb, b1);
            a2 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref q, 2 * L), xa, a2);
            b2 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref q, 2 * L + H), xb, b2);
            a3 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref q, 3 * L), xa, a3);
            b3 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref q, 3 * L + H), xb, b3);
        }
        s0 = Vector256.Sum(a0 + b0);
        s1 = Vector256.Sum(a1 + b1);
        s2 = Vector256.Sum(a2 + b2);
        s3 = Vector256.Sum(a3 + b3);
    }

    /// <summary>One group, scalar: the same tile walk, sixteen scalars per tile row.</summary>
    private static void PackedDot4Scalar(ref float p, ref float x, ref float xTail, int tiles, int fullTiles,
        out float s0, out float s1, out float s2, out float s3)
    {
        const int L = PackedGemvMatrix.Lanes;
        const int T = PackedGemvMatrix.TileSize;
        s0 = 0f;
        s1 = 0f;
        s2 = 0f;
        s3 = 0f;
        for (nuint t = 0; t < (nuint)tiles; t++)
        {
            ref float q = ref Unsafe.Add(ref p, t * T);
            ref float xt = ref t < (nuint)fullTiles ? ref Unsafe.Add(ref x, t * L) : ref xTail;
            for (nuint l = 0; l < L; l++)
            {
                float xl = Unsafe.Add(ref xt, l);
                s0 += Unsafe.Add(ref q, 0 * L + l) * xl;
                s1 += Unsafe.Add(ref q, 1 * L + l) * xl;
                s2 += Unsafe.Add(ref q, 2 * L + l) * xl;
                s3 += Unsafe.Add(ref q, 3 * L + l) * xl;
            }
        }
    }

    /// <summary>y = Wᵀ·x, or y += Wᵀ·x when <paramref name="accumulate"/> is true, from the same packed W as the forward product.</summary>
    /// <param name="w">W: (rows, cols), packed by <see cref="PackedGemvMatrix.Pack"/>.</param>
    /// <param name="x">x: (rows).</param>
    /// <param name="y">y: (cols); must not overlap x.</param>
    /// <param name="accumulate">Add to y instead of overwriting it.</param>
    /// <remarks>
    /// Effectively computes y[j] (+)= Σ_i W[i, j] x[i] (the backward of y = W·x with respect to its input). It walks the
    /// packed stream in the order it is stored: per four-row group, x's four values are broadcast once, and each
    /// 16-column tile adds its four rows into one chunk of y (loaded and stored once per group). Reading one
    /// contiguous stream instead of four strided rows is what makes it faster than the unpacked overload, and a
    /// weight packed for the forward W·x serves its backward with no second copy. Padding rows meet x = 0; the
    /// padded last tile goes to a zeroed scratch tile whose valid part is added to y at the end. Single-threaded.
    /// fp32 matrices only (the narrow ones are for inference, which needs no backward).
    /// </remarks>
    public static void MultiplyTransposed(PackedGemvMatrix w, ReadOnlySpan<float> x, Span<float> y, bool accumulate)
    {
        ArgumentNullException.ThrowIfNull(w);
        if (w.Element != PackedElement.Float32)
        {
            ThrowNotFloat32(w.Element, nameof(w));
        }
        int rows = w.Rows;
        int cols = w.Cols;
        Guard.Length(x.Length, rows, nameof(x));
        Guard.Length(y.Length, cols, nameof(y));
        if (!accumulate)
        {
            y.Slice(0, cols).Clear();
        }
        if (rows == 0 || cols == 0)
        {
            return;
        }
        const int L = PackedGemvMatrix.Lanes;
        int fullTiles = cols / L;
        int tail = cols - fullTiles * L;
        Span<float> yTail = stackalloc float[L];   // the last partial tile's 16 sums; only its first `tail` are kept
        yTail.Clear();
        Span<float> xGroup = stackalloc float[PackedGemvMatrix.GroupRows];
        ref float rp = ref MemoryMarshal.GetReference(w.Data);
        ref float ry = ref MemoryMarshal.GetReference(y);
        ref float rt = ref MemoryMarshal.GetReference(yTail);
        nuint groupSize = (nuint)w.Tiles * PackedGemvMatrix.TileSize;
        for (int g = 0; g < w.Groups; g++)
        {
            // x's four values for this group, 0 for padding rows (whose packed weights are 0 too).
            int i = g * PackedGemvMatrix.GroupRows;
            for (int r = 0; r < PackedGemvMatrix.GroupRows; r++)
            {
                xGroup[r] = i + r < rows ? x[i + r] : 0f;
            }
            ref float p = ref Unsafe.Add(ref rp, (nuint)g * groupSize);
            if (Isa.Vector512)
            {
                PackedAxpy4Vector512(ref p, xGroup, ref ry, ref rt, fullTiles, tail > 0);
            }
            else if (Isa.Vector256)
            {
                PackedAxpy4Vector256(ref p, xGroup, ref ry, ref rt, fullTiles, tail > 0);
            }
            else
            {
                PackedAxpy4Scalar(ref p, xGroup, ref ry, ref rt, fullTiles, tail > 0);
            }
        }
        if (tail > 0)
        {
            Span<float> yLast = y.Slice(fullTiles * L, tail);
            System.Numerics.Tensors.TensorPrimitives.Add(yLast, yTail.Slice(0, tail), yLast);
        }
    }

    /// <summary>One group, 512-bit: per tile, y's 16 floats += the four tile rows times x's four broadcast values.</summary>
    private static void PackedAxpy4Vector512(ref float p, ReadOnlySpan<float> xGroup, ref float y, ref float yTail, int fullTiles, bool hasTail)
    {
        const int L = PackedGemvMatrix.Lanes;       // 16 = Vector512<float>.Count
        const int T = PackedGemvMatrix.TileSize;    // 64
        Vector512<float> x0 = Vector512.Create(xGroup[0]), x1 = Vector512.Create(xGroup[1]);
        Vector512<float> x2 = Vector512.Create(xGroup[2]), x3 = Vector512.Create(xGroup[3]);
        for (nuint t = 0; t < (nuint)fullTiles; t++)
        {
            AxpyTile512(ref Unsafe.Add(ref p, t * T), ref Unsafe.Add(ref y, t * L), x0, x1, x2, x3);
        }
        if (hasTail)
        {
            AxpyTile512(ref Unsafe.Add(ref p, (nuint)fullTiles * T), ref yTail, x0, x1, x2, x3);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AxpyTile512(ref float q, ref float y, Vector512<float> x0, Vector512<float> x1, Vector512<float> x2, Vector512<float> x3)
    {
        const int L = PackedGemvMatrix.Lanes;
        Vector512<float> acc = Vector512.LoadUnsafe(ref y);
        acc = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref q, 0 * L), x0, acc);
        acc = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref q, 1 * L), x1, acc);
        acc = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref q, 2 * L), x2, acc);
        acc = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref q, 3 * L), x3, acc);
        acc.StoreUnsafe(ref y);
    }

    /// <summary>One group, 256-bit: each tile row is two vectors (columns 0-7 and 8-15).</summary>
    private static void PackedAxpy4Vector256(ref float p, ReadOnlySpan<float> xGroup, ref float y, ref float yTail, int fullTiles, bool hasTail)
    {
        const int L = PackedGemvMatrix.Lanes;       // 16
        const int H = 8;                            // Vector256<float>.Count: half a tile row
        const int T = PackedGemvMatrix.TileSize;    // 64
        Vector256<float> x0 = Vector256.Create(xGroup[0]), x1 = Vector256.Create(xGroup[1]);
        Vector256<float> x2 = Vector256.Create(xGroup[2]), x3 = Vector256.Create(xGroup[3]);
        for (nuint t = 0; t < (nuint)fullTiles; t++)
        {
            ref float q = ref Unsafe.Add(ref p, t * T);
            ref float yt = ref Unsafe.Add(ref y, t * L);
            AxpyHalfTile256(ref q, ref yt, x0, x1, x2, x3);
            AxpyHalfTile256(ref Unsafe.Add(ref q, H), ref Unsafe.Add(ref yt, H), x0, x1, x2, x3);
        }
        if (hasTail)
        {
            ref float q = ref Unsafe.Add(ref p, (nuint)fullTiles * T);
            AxpyHalfTile256(ref q, ref yTail, x0, x1, x2, x3);
            AxpyHalfTile256(ref Unsafe.Add(ref q, H), ref Unsafe.Add(ref yTail, H), x0, x1, x2, x3);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AxpyHalfTile256(ref float q, ref float y, Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3)
    {
        const int L = PackedGemvMatrix.Lanes;
        Vector256<float> acc = Vector256.LoadUnsafe(ref y);
        acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref q, 0 * L), x0, acc);
        acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref q, 1 * L), x1, acc);
        acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref q, 2 * L), x2, acc);
        acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref q, 3 * L), x3, acc);
        acc.StoreUnsafe(ref y);
    }

    /// <summary>One group, scalar: the same walk over the packed tiles, sixteen scalars per tile row.</summary>
    private static void PackedAxpy4Scalar(ref float p, ReadOnlySpan<float> xGroup, ref float y, ref float yTail, int fullTiles, bool hasTail)
    {
        const int L = PackedGemvMatrix.Lanes;
        const int T = PackedGemvMatrix.TileSize;
        float x0 = xGroup[0], x1 = xGroup[1], x2 = xGroup[2], x3 = xGroup[3];
        int tiles = hasTail ? fullTiles + 1 : fullTiles;
        for (nuint t = 0; t < (nuint)tiles; t++)
        {
            ref float q = ref Unsafe.Add(ref p, t * T);
            ref float yt = ref t < (nuint)fullTiles ? ref Unsafe.Add(ref y, t * L) : ref yTail;
            for (nuint l = 0; l < L; l++)
            {
                Unsafe.Add(ref yt, l) += Unsafe.Add(ref q, 0 * L + l) * x0 + Unsafe.Add(ref q, 1 * L + l) * x1
                    + Unsafe.Add(ref q, 2 * L + l) * x2 + Unsafe.Add(ref q, 3 * L + l) * x3;
            }
        }
    }
}
