using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SpanAttention.Kernels;

/// <summary>
/// A weight matrix W (rows, cols) re-laid out once for fast y = W·x: the rows are cut into groups of four,
/// and each group is stored as one contiguous stream of 4 x 16 tiles (row 0's 16 columns, then row 1's,
/// row 2's, row 3's, then the next 16 columns). The last group and the last tile are zero-padded.
/// </summary>
/// <remarks>
/// <para>
/// For a weight read at every decoder step (a batch-1 recurrent step, e.g. GRU W_hh (3H, H)) this turns the
/// four strided row streams of <see cref="Gemv.Multiply(ReadOnlySpan{float}, int, int, int, ReadOnlySpan{float}, Span{float}, bool)"/>
/// into one sequential stream, 64-byte aligned, with no row or column remainder code: every load in
/// <see cref="Gemv.Multiply(PackedGemvMatrix, ReadOnlySpan{float}, Span{float}, bool)"/> is a full vector.
/// </para>
/// <para>
/// The tile width is 16 floats whatever the hardware: the 512-bit path reads one vector per tile row,
/// the 256-bit path two, the scalar path sixteen scalars; so the layout (and a packed buffer) does not
/// depend on the ISA the process happens to run with.
/// </para>
/// <para>
/// Construct once for a shape (this allocates the buffer), then call <see cref="Pack"/> whenever the
/// weights change (every optimizer step): packing writes into the existing buffer and allocates nothing.
/// Packing reads W once and writes it once, about the cost of one GEMV. A packed matrix may be read by any
/// number of threads at once, but must not be read while it is being packed.
/// </para>
/// <para>
/// Inference may store the tiles narrower (<see cref="PackedElement"/>; see PackedGemvMatrix.Narrow.cs): the same
/// groups and tiles, bf16 or int8 elements interleaved so that one vector load yields two (bf16) or four (int8) rows'
/// 16 columns, widened to fp32 in registers. Such a matrix serves W·x only.
/// </para>
/// </remarks>
public sealed partial class PackedGemvMatrix
{
    /// <summary>Floats per tile row: the packing width (one 512-bit vector, two 256-bit vectors).</summary>
    internal const int Lanes = 16;

    /// <summary>Rows per group: the rows the micro-kernel computes together.</summary>
    internal const int GroupRows = Gemv.RowBlock;

    /// <summary>Floats per tile: <see cref="GroupRows"/> x <see cref="Lanes"/>.</summary>
    internal const int TileSize = GroupRows * Lanes;

    private const int AlignmentBytes = 64; // one cache line, one 512-bit vector

    private readonly byte[] _buffer;
    private readonly int _offset;   // bytes from the array's start to the first tile, 64-byte aligned
    private readonly float[] _scales;

    /// <summary>Allocates a packed matrix for a (rows, cols) W, initially all zeros (W = 0).</summary>
    /// <param name="rows">Rows of W (output size).</param>
    /// <param name="cols">Columns of W (input size).</param>
    public PackedGemvMatrix(int rows, int cols)
        : this(rows, cols, PackedElement.Float32)
    {
    }

    /// <summary>Allocates a packed matrix for a (rows, cols) W stored as <paramref name="element"/>, initially all zeros.</summary>
    /// <param name="rows">Rows of W (output size).</param>
    /// <param name="cols">Columns of W (input size).</param>
    /// <param name="element">How each weight is stored.</param>
    internal PackedGemvMatrix(int rows, int cols, PackedElement element)
    {
        Guard.NonNegative(rows, nameof(rows));
        Guard.NonNegative(cols, nameof(cols));
        Rows = rows;
        Cols = cols;
        Element = element;
        Groups = (rows + GroupRows - 1) / GroupRows;
        Tiles = (cols + Lanes - 1) / Lanes;
        long length = (long)Groups * Tiles * TileSize * ElementBytes(element);
        if (length > Array.MaxLength - AlignmentBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(rows), $"{nameof(rows)} x {nameof(cols)}: a packed {rows} x {cols} matrix of {element} needs {length} bytes, more than an array holds.");
        }
        // Pinned so the 64-byte alignment computed below stays true for the object's lifetime.
        _buffer = GC.AllocateArray<byte>((int)length + AlignmentBytes, pinned: true);
        _offset = AlignedOffset(_buffer);
        _scales = element == PackedElement.Int8 ? new float[Groups * GroupRows] : [];
    }

    /// <summary>Rows of W: the length of y.</summary>
    public int Rows { get; }

    /// <summary>Columns of W: the length of x.</summary>
    public int Cols { get; }

    /// <summary>Number of four-row groups, ⌈Rows / 4⌉.</summary>
    internal int Groups { get; }

    /// <summary>Number of 16-column tiles per group, ⌈Cols / 16⌉.</summary>
    internal int Tiles { get; }

    /// <summary>How each weight is stored.</summary>
    internal PackedElement Element { get; }

    /// <summary>The packed fp32 stream: (Groups, Tiles, 4, 16), 64-byte aligned. Float32 only.</summary>
    internal Span<float> Data
    {
        get
        {
            System.Diagnostics.Debug.Assert(Element == PackedElement.Float32, "Data is the fp32 stream");
            return MemoryMarshal.Cast<byte, float>(Bytes);
        }
    }

    /// <summary>The packed stream of any element type as bytes, 64-byte aligned.</summary>
    internal Span<byte> Bytes => _buffer.AsSpan(_offset, Groups * Tiles * TileSize * ElementBytes(Element));

    /// <summary>Int8: (Groups·4) per-row scales s_i (0 for padding rows); empty otherwise.</summary>
    internal Span<float> Scales => _scales;

    /// <summary>Bytes per stored weight.</summary>
    internal static int ElementBytes(PackedElement element) => element switch
    {
        PackedElement.Float32 => sizeof(float),
        PackedElement.BFloat16 => sizeof(ushort),
        _ => sizeof(sbyte),
    };

    /// <summary>Copies W into the packed layout, overwriting the previous contents. Allocates nothing.</summary>
    /// <param name="w">W: (rows, cols) row-major with leading dimension <paramref name="ldw"/>.</param>
    /// <param name="rows">Rows of W; must equal <see cref="Rows"/>.</param>
    /// <param name="cols">Columns of W; must equal <see cref="Cols"/>.</param>
    /// <param name="ldw">Leading dimension of W (≥ cols), so W may be a view into a larger buffer.</param>
    /// <remarks>Effectively: packed[g, t, r, l] = W[4g + r, 16t + l], and 0 outside W (fp32; the narrow
    /// layouts are described in PackedGemvMatrix.Narrow.cs).</remarks>
    /// <exception cref="ArgumentException">Int8 storage and a row of W holds NaN or ±∞.</exception>
    public void Pack(ReadOnlySpan<float> w, int rows, int cols, int ldw)
    {
        Guard.Matrix(w.Length, rows, cols, ldw, nameof(w));
        if (rows != Rows || cols != Cols)
        {
            ThrowShape(rows, cols, nameof(w));
        }
        if (Element == PackedElement.BFloat16)
        {
            PackBFloat16(w, ldw);
            return;
        }
        if (Element == PackedElement.Int8)
        {
            PackInt8(w, ldw);
            return;
        }
        // Walk each source row sequentially (group, row, tile); its tiles land 64 floats apart. Each full
        // tile row is one 64-byte copy; the last tile row is zero-padded, and so are padding rows.
        ref float dst = ref MemoryMarshal.GetReference(Data);
        ref float src = ref MemoryMarshal.GetReference(w);
        int fullTiles = cols / Lanes;
        int tail = cols - fullTiles * Lanes;
        nuint groupSize = (nuint)Tiles * TileSize;
        for (int g = 0; g < Groups; g++)
        {
            for (int r = 0; r < GroupRows; r++)
            {
                int i = g * GroupRows + r;
                ref float to = ref Unsafe.Add(ref dst, (nuint)g * groupSize + (nuint)(r * Lanes));
                if (i >= rows)
                {
                    for (nuint t = 0; t < (nuint)Tiles; t++)
                    {
                        MemoryMarshal.CreateSpan(ref Unsafe.Add(ref to, t * TileSize), Lanes).Clear();   // padding row
                    }
                    continue;
                }
                ref float from = ref Unsafe.Add(ref src, (nuint)i * (nuint)ldw);
                for (nuint t = 0; t < (nuint)fullTiles; t++)
                {
                    CopyTileRow(ref Unsafe.Add(ref from, t * Lanes), ref Unsafe.Add(ref to, t * TileSize));
                }
                if (tail > 0)
                {
                    Span<float> last = MemoryMarshal.CreateSpan(ref Unsafe.Add(ref to, (nuint)fullTiles * TileSize), Lanes);
                    MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref from, (nuint)fullTiles * Lanes), tail).CopyTo(last);
                    last.Slice(tail).Clear();   // padding columns
                }
            }
        }
    }

    /// <summary>Copies one 16-float tile row with full-width vector moves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyTileRow(ref float from, ref float to)
    {
        if (Isa.Vector512)
        {
            Vector512.LoadUnsafe(ref from).StoreUnsafe(ref to);
        }
        else if (Isa.Vector256)
        {
            Vector256.LoadUnsafe(ref from).StoreUnsafe(ref to);
            Vector256.LoadUnsafe(ref from, 8).StoreUnsafe(ref to, 8);
        }
        else
        {
            Unsafe.CopyBlockUnaligned(ref Unsafe.As<float, byte>(ref to), ref Unsafe.As<float, byte>(ref from), Lanes * sizeof(float));
        }
    }

    private static unsafe int AlignedOffset(byte[] buffer)
    {
        nuint address = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        nuint misalignment = address % AlignmentBytes;
        return misalignment == 0 ? 0 : (int)(AlignmentBytes - misalignment);
    }

    [DoesNotReturn]
    private void ThrowShape(int rows, int cols, string name) =>
        throw new ArgumentException($"{name}: this packed matrix holds a {Rows} x {Cols} W, got {rows} x {cols}; allocate a new {nameof(PackedGemvMatrix)} for a new shape.", name);
}
