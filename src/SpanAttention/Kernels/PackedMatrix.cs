namespace SpanAttention.Kernels;

/// <summary>
/// A GEMM right-hand operand op(B): (k, n) packed once into the micro-panel layout of the GEMM kernel, for
/// the whole k. Typical use: a weight W stored PyTorch-style as [n, k] and used as Wᵀ in Y = X·Wᵀ, packed
/// after every optimizer step and then multiplied by every batch without re-packing.
/// </summary>
/// <remarks>
/// Layout: k is cut into slices of KC (the kernel's depth); slice s starts at <c>s·KC·PaddedN</c> and holds
/// ceil(n / NR) panels of (kc, NR), panel r at <c>r·NR·kc</c> within the slice; columns past n are zeros.
/// The storage is allocated once by the constructor (pinned, 64-byte aligned); <see cref="Pack"/> reuses it
/// and never allocates. Packing is not thread-safe with respect to concurrent multiplications by the same
/// matrix; multiplying by it from several threads at once is.
/// </remarks>
public sealed unsafe class PackedMatrix
{
    private readonly float[] _storage;
    private readonly float* _data;
    private readonly int _panelWidth;
    private readonly int _sliceDepth;
    private bool _packed;

    /// <summary>Allocates storage for a packed (k, n) operand. Call <see cref="Pack"/> before use.</summary>
    /// <param name="k">Rows of op(B): the inner dimension of the product (in_features of a weight).</param>
    /// <param name="n">Columns of op(B): the columns of the product (out_features of a weight).</param>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative.</exception>
    public PackedMatrix(int k, int n)
    {
        Guard.NonNegative(k, nameof(k));
        Guard.NonNegative(n, nameof(n));
        K = k;
        N = n;
        _panelWidth = Gemm.TileColumns;
        _sliceDepth = Gemm.SliceDepth;
        PaddedN = (n + _panelWidth - 1) / _panelWidth * _panelWidth;
        long floats = (long)k * PaddedN;
        if (floats > Array.MaxLength - 16)
        {
            throw new ArgumentOutOfRangeException(nameof(n), $"{nameof(PackedMatrix)}: a {k} x {n} operand is too large to pack.");
        }
        _storage = GemmWorkspace.Allocate((int)floats, out _data);
    }

    /// <summary>Rows of op(B): the inner dimension k of the product.</summary>
    public int K { get; }

    /// <summary>Columns of op(B): the number of columns n of the product.</summary>
    public int N { get; }

    /// <summary>Columns rounded up to whole panels.</summary>
    internal int PaddedN { get; }

    /// <summary>Start of the packed data (pinned: valid while this object is alive; callers keep it alive).</summary>
    internal float* Data => _data;

    /// <summary>
    /// Packs op(B) into this matrix, replacing what was there. Allocation-free.
    /// </summary>
    /// <param name="b">B as stored: (k, n) row-major with leading dimension <paramref name="ldb"/>, or (n, k) when <paramref name="transposeB"/> (a weight [out, in] used as Wᵀ).</param>
    /// <param name="ldb">Leading dimension (row stride) of B as stored.</param>
    /// <param name="transposeB">Whether op(B) = Bᵀ.</param>
    /// <exception cref="ArgumentException"><paramref name="b"/> is too short for the view.</exception>
    public void Pack(ReadOnlySpan<float> b, int ldb, Transpose transposeB)
    {
        if (transposeB == Transpose.Yes)
        {
            Guard.Matrix(b.Length, N, K, ldb, nameof(b));
        }
        else
        {
            Guard.Matrix(b.Length, K, N, ldb, nameof(b));
        }
        if (K > 0 && N > 0)
        {
            fixed (float* pb = b)
            {
                if (Isa.Vector512)
                {
                    PackSlices<Kernel8x32>(pb, ldb, transposeB);
                }
                else if (Isa.Vector256)
                {
                    PackSlices<Kernel6x16>(pb, ldb, transposeB);
                }
                else
                {
                    PackSlices<Kernel4x4>(pb, ldb, transposeB);
                }
            }
        }
        _packed = true;
    }

    private void PackSlices<TKernel>(float* b, nint ldb, Transpose transposeB)
        where TKernel : struct, IGemmKernel
    {
        for (int pc = 0; pc < K; pc += TKernel.KC)
        {
            int kc = Math.Min(TKernel.KC, K - pc);
            GemmPacking.PackB<TKernel>(b, ldb, transposeB, pc, kc, 0, N, _data + pc * (nint)PaddedN);
        }
    }

    /// <summary>Throws unless the matrix has been packed, with the layout of the kernel in use.</summary>
    internal void CheckLayout()
    {
        if (!_packed)
        {
            throw new InvalidOperationException($"{nameof(PackedMatrix)}: call {nameof(Pack)} before multiplying by it.");
        }
        if (_panelWidth != Gemm.TileColumns || _sliceDepth != Gemm.SliceDepth)
        {
            throw new InvalidOperationException($"{nameof(PackedMatrix)}: packed for a different GEMM kernel layout.");
        }
    }
}
