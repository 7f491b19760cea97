using System.Runtime.InteropServices;

namespace SpanAttention.Kernels;

/// <summary>How a <see cref="PackedGemvMatrix"/> stores each weight.</summary>
internal enum PackedElement
{
    /// <summary>fp32: the weights exactly (4 bytes each).</summary>
    Float32,

    /// <summary>bfloat16, round to nearest even (2 bytes each); see <see cref="Quantization.ToBFloat16"/>.</summary>
    BFloat16,

    /// <summary>Symmetric int8 with one fp32 scale per row (1 byte each); see <see cref="Quantization.Int8Scale"/>.</summary>
    Int8,
}

/// <summary>The narrow layouts: same groups of four rows and 16-column tiles, elements interleaved across rows.</summary>
/// <remarks>
/// <para>BFloat16, per tile (128 bytes, two cache lines): element [p, l, k] = bf16(W[4g + 2p + k, 16t + l]) for row
/// pair p ∈ {0, 1}, column l ∈ [0, 16), row k ∈ {0, 1}. Every 32-bit lane then holds one column of two rows: the low
/// half (shifted up 16) is row 2p's float, the high half (low half masked off) row 2p+1's. One 512-bit load gives two
/// rows' full tile row, already lined up with x's 16 lanes, at the cost of one shift and one and.</para>
/// <para>Int8, per tile (64 bytes, one cache line): element [l, r] = q(W[4g + r, 16t + l]) for column l, row r ∈ [0, 4).
/// Every 32-bit lane holds one column of all four rows, byte r = row r: row r's int32 is the lane shifted left by
/// 24 − 8r and arithmetically right by 24, then converted to float. Scales s_i live beside the stream.</para>
/// <para>Padding rows and columns are 0 in both, as in fp32.</para>
/// </remarks>
public sealed partial class PackedGemvMatrix
{
    /// <summary>bf16 elements per tile row pair: two rows x 16 columns.</summary>
    internal const int PairSize = 2 * Lanes;

    /// <summary>Fills the bf16 stream from W (rows, cols) with leading dimension ldw.</summary>
    private void PackBFloat16(ReadOnlySpan<float> w, int ldw)
    {
        Span<ushort> dst = MemoryMarshal.Cast<byte, ushort>(Bytes);
        dst.Clear();
        for (int i = 0; i < Rows; i++)
        {
            int g = i / GroupRows, r = i % GroupRows;
            int p = r / 2, k = r % 2;
            ReadOnlySpan<float> row = w.Slice(i * ldw, Cols);
            Span<ushort> group = dst.Slice(g * Tiles * TileSize, Tiles * TileSize);
            for (int j = 0; j < row.Length; j++)
            {
                int t = j / Lanes, l = j % Lanes;
                group[t * TileSize + p * PairSize + 2 * l + k] = Quantization.ToBFloat16(row[j]);   // [g, t, p, l, k]
            }
        }
    }

    /// <summary>Fills the int8 stream and the scales from W (rows, cols) with leading dimension ldw.</summary>
    private void PackInt8(ReadOnlySpan<float> w, int ldw)
    {
        Span<sbyte> dst = MemoryMarshal.Cast<byte, sbyte>(Bytes);
        dst.Clear();
        _scales.AsSpan().Clear();
        for (int i = 0; i < Rows; i++)
        {
            int g = i / GroupRows, r = i % GroupRows;
            ReadOnlySpan<float> row = w.Slice(i * ldw, Cols);
            float scale = Quantization.Int8Scale(row, "w");
            _scales[i] = scale;
            Span<sbyte> group = dst.Slice(g * Tiles * TileSize, Tiles * TileSize);
            for (int j = 0; j < row.Length; j++)
            {
                int t = j / Lanes, l = j % Lanes;
                group[t * TileSize + GroupRows * l + r] = Quantization.ToInt8(row[j], scale);      // [g, t, l, r]
            }
        }
    }

    /// <summary>W[i, j] as the kernels see it: the stored element widened (and scaled) back to fp32. For tests and diagnostics.</summary>
    internal float Stored(int i, int j)
    {
        int g = i / GroupRows, r = i % GroupRows, t = j / Lanes, l = j % Lanes;
        int tile = (g * Tiles + t) * TileSize;
        return Element switch
        {
            PackedElement.Float32 => Data[tile + r * Lanes + l],
            PackedElement.BFloat16 => Quantization.FromBFloat16(MemoryMarshal.Cast<byte, ushort>(Bytes)[tile + (r / 2) * PairSize + 2 * l + r % 2]),
            _ => _scales[i] * (sbyte)Bytes[tile + GroupRows * l + r],
        };
    }
}
