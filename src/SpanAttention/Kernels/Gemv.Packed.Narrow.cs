using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SpanAttention.Kernels;

/// <summary>
/// The packed GEMV over bf16 and int8 weights (<see cref="PackedElement"/>): the fp32 kernel's walk over groups and
/// 16-column tiles, with each tile widened to fp32 in registers before the FMAs. x, the accumulators and y stay fp32.
/// </summary>
/// <remarks>
/// A decoder step at batch 1 is bound by how fast its weights stream in (docs/performance.md), so half (bf16) or a
/// quarter (int8) of the bytes is what these buy; the widening is a few integer operations per 64-byte load, on
/// pipes the FMAs do not use. Layouts: PackedGemvMatrix.Narrow.cs.
/// </remarks>
public static partial class Gemv
{
    /// <summary>y rows of groups [gStart, gEnd) of a bf16 matrix: the four-row widening micro-kernel per group, widest ISA first.</summary>
    private static void MultiplyGroupsBFloat16(ref byte rp, ref float rx, ref float rt, ref float ry, int tiles, int fullTiles, int rows,
        int gStart, int gEnd, bool accumulate)
    {
        nuint groupBytes = (nuint)tiles * PackedGemvMatrix.TileSize * sizeof(ushort);
        for (int g = gStart; g < gEnd; g++)
        {
            ref uint p = ref Unsafe.As<byte, uint>(ref Unsafe.Add(ref rp, (nuint)g * groupBytes));
            float s0, s1, s2, s3;
            if (Isa.Vector512)
            {
                BFloat16Dot4Vector512(ref p, ref rx, ref rt, tiles, fullTiles, out s0, out s1, out s2, out s3);
            }
            else if (Isa.Vector256)
            {
                BFloat16Dot4Vector256(ref p, ref rx, ref rt, tiles, fullTiles, out s0, out s1, out s2, out s3);
            }
            else
            {
                BFloat16Dot4Scalar(ref p, ref rx, ref rt, tiles, fullTiles, out s0, out s1, out s2, out s3);
            }
            StoreGroup(ref ry, g, rows, s0, s1, s2, s3, accumulate);
        }
    }

    /// <summary>y rows of groups [gStart, gEnd) of an int8 matrix: the widening micro-kernel per group, then y_i = s_i · Σ_j q_ij x_j.</summary>
    private static void MultiplyGroupsInt8(ref byte rp, ref float scales, ref float rx, ref float rt, ref float ry, int tiles, int fullTiles, int rows,
        int gStart, int gEnd, bool accumulate)
    {
        nuint groupBytes = (nuint)tiles * PackedGemvMatrix.TileSize;
        for (int g = gStart; g < gEnd; g++)
        {
            ref int p = ref Unsafe.As<byte, int>(ref Unsafe.Add(ref rp, (nuint)g * groupBytes));
            float s0, s1, s2, s3;
            if (Isa.Vector512)
            {
                Int8Dot4Vector512(ref p, ref rx, ref rt, tiles, fullTiles, out s0, out s1, out s2, out s3);
            }
            else if (Isa.Vector256)
            {
                Int8Dot4Vector256(ref p, ref rx, ref rt, tiles, fullTiles, out s0, out s1, out s2, out s3);
            }
            else
            {
                Int8Dot4Scalar(ref p, ref rx, ref rt, tiles, fullTiles, out s0, out s1, out s2, out s3);
            }
            ref float s = ref Unsafe.Add(ref scales, g * PackedGemvMatrix.GroupRows);
            StoreGroup(ref ry, g, rows, s * s0, Unsafe.Add(ref s, 1) * s1, Unsafe.Add(ref s, 2) * s2, Unsafe.Add(ref s, 3) * s3, accumulate);
        }
    }

    /// <summary>Stores (or adds) group g's four sums into y, dropping those of padding rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreGroup(ref float ry, int g, int rows, float s0, float s1, float s2, float s3, bool accumulate)
    {
        int i = g * PackedGemvMatrix.GroupRows;
        int valid = Math.Min(PackedGemvMatrix.GroupRows, rows - i);
        ref float yi = ref Unsafe.Add(ref ry, i);
        Store(ref yi, s0, accumulate);
        if (valid > 1)
        {
            Store(ref Unsafe.Add(ref yi, 1), s1, accumulate);
        }
        if (valid > 2)
        {
            Store(ref Unsafe.Add(ref yi, 2), s2, accumulate);
        }
        if (valid > 3)
        {
            Store(ref Unsafe.Add(ref yi, 3), s3, accumulate);
        }
    }

    /// <summary>
    /// One bf16 group, 512-bit. A tile is two 64-byte vectors (row pairs 0-1 and 2-3); each 32-bit lane is one column
    /// of two rows: lane &lt;&lt; 16 is the even row's float, lane &amp; 0xFFFF0000 the odd row's. Two tiles per step give
    /// eight FMA chains.
    /// </summary>
    private static void BFloat16Dot4Vector512(ref uint p, ref float x, ref float xTail, int tiles, int fullTiles,
        out float s0, out float s1, out float s2, out float s3)
    {
        const int L = PackedGemvMatrix.Lanes;           // 16 = Vector512<float>.Count = uints per row pair
        const int T = PackedGemvMatrix.TileSize / 2;    // 32 uints per tile
        Vector512<uint> high = Vector512.Create(0xFFFF0000u);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        nuint t = 0;
        for (; t + 2 <= (nuint)fullTiles; t += 2)
        {
            ref uint q = ref Unsafe.Add(ref p, t * T);
            Vector512<float> xa = Vector512.LoadUnsafe(ref x, t * L);
            Vector512<float> xb = Vector512.LoadUnsafe(ref x, t * L + L);
            Vector512<uint> pa01 = Vector512.LoadUnsafe(ref q), pa23 = Vector512.LoadUnsafe(ref q, L);
            Vector512<uint> pb01 = Vector512.LoadUnsafe(ref q, T), pb23 = Vector512.LoadUnsafe(ref q, T + L);
            a0 = Vector512.FusedMultiplyAdd((pa01 << 16).AsSingle(), xa, a0);
            a1 = Vector512.FusedMultiplyAdd((pa01 & high).AsSingle(), xa, a1);
            a2 = Vector512.FusedMultiplyAdd((pa23 << 16).AsSingle(), xa, a2);
            a3 = Vector512.FusedMultiplyAdd((pa23 & high).AsSingle(), xa, a3);
            b0 = Vector512.FusedMultiplyAdd((pb01 << 16).AsSingle(), xb, b0);
            b1 = Vector512.FusedMultiplyAdd((pb01 & high).AsSingle(), xb, b1);
            b2 = Vector512.FusedMultiplyAdd((pb23 << 16).AsSingle(), xb, b2);
            b3 = Vector512.FusedMultiplyAdd((pb23 & high).AsSingle(), xb, b3);
        }
        for (; t < (nuint)tiles; t++)
        {
            ref uint q = ref Unsafe.Add(ref p, t * T);
            Vector512<float> xa = t < (nuint)fullTiles ? Vector512.LoadUnsafe(ref x, t * L) : Vector512.LoadUnsafe(ref xTail);
            Vector512<uint> p01 = Vector512.LoadUnsafe(ref q), p23 = Vector512.LoadUnsafe(ref q, L);
            a0 = Vector512.FusedMultiplyAdd((p01 << 16).AsSingle(), xa, a0);
            a1 = Vector512.FusedMultiplyAdd((p01 & high).AsSingle(), xa, a1);
            a2 = Vector512.FusedMultiplyAdd((p23 << 16).AsSingle(), xa, a2);
            a3 = Vector512.FusedMultiplyAdd((p23 & high).AsSingle(), xa, a3);
        }
        s0 = Vector512.Sum(a0 + b0);
        s1 = Vector512.Sum(a1 + b1);
        s2 = Vector512.Sum(a2 + b2);
        s3 = Vector512.Sum(a3 + b3);
    }

    /// <summary>One bf16 group, 256-bit: each row pair is two vectors (columns 0-7 and 8-15), eight FMA chains.</summary>
    private static void BFloat16Dot4Vector256(ref uint p, ref float x, ref float xTail, int tiles, int fullTiles,
        out float s0, out float s1, out float s2, out float s3)
    {
        const int L = PackedGemvMatrix.Lanes;           // 16 uints per row pair
        const int H = 8;                                // Vector256<float>.Count: half a tile row
        const int T = PackedGemvMatrix.TileSize / 2;    // 32 uints per tile
        Vector256<uint> high = Vector256.Create(0xFFFF0000u);
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (nuint t = 0; t < (nuint)tiles; t++)
        {
            ref uint q = ref Unsafe.Add(ref p, t * T);
            ref float xt = ref t < (nuint)fullTiles ? ref Unsafe.Add(ref x, t * L) : ref xTail;
            Vector256<float> xa = Vector256.LoadUnsafe(ref xt);
            Vector256<float> xb = Vector256.LoadUnsafe(ref xt, H);
            Vector256<uint> p01a = Vector256.LoadUnsafe(ref q), p01b = Vector256.LoadUnsafe(ref q, H);
            Vector256<uint> p23a = Vector256.LoadUnsafe(ref q, L), p23b = Vector256.LoadUnsafe(ref q, L + H);
            a0 = Vector256.FusedMultiplyAdd((p01a << 16).AsSingle(), xa, a0);
            b0 = Vector256.FusedMultiplyAdd((p01b << 16).AsSingle(), xb, b0);
            a1 = Vector256.FusedMultiplyAdd((p01a & high).AsSingle(), xa, a1);
            b1 = Vector256.FusedMultiplyAdd((p01b & high).AsSingle(), xb, b1);
            a2 = Vector256.FusedMultiplyAdd((p23a << 16).AsSingle(), xa, a2);
            b2 = Vector256.FusedMultiplyAdd((p23b << 16).AsSingle(), xb, b2);
            a3 = Vector256.FusedMultiplyAdd((p23a & high).AsSingle(), xa, a3);
            b3 = Vector256.FusedMultiplyAdd((p23b & high).AsSingle(), xb, b3);
        }
        s0 = Vector256.Sum(a0 + b0);
        s1 = Vector256.Sum(a1 + b1);
        s2 = Vector256.Sum(a2 + b2);
        s3 = Vector256.Sum(a3 + b3);
    }

    /// <summary>One bf16 group, scalar: the same tile walk, sixteen columns per row pair.</summary>
    private static void BFloat16Dot4Scalar(ref uint p, ref float x, ref float xTail, int tiles, int fullTiles,
        out float s0, out float s1, out float s2, out float s3)
    {
        const int L = PackedGemvMatrix.Lanes;
        const int T = PackedGemvMatrix.TileSize / 2;
        s0 = 0f;
        s1 = 0f;
        s2 = 0f;
        s3 = 0f;
        for (nuint t = 0; t < (nuint)tiles; t++)
        {
            ref uint q = ref Unsafe.Add(ref p, t * T);
            ref float xt = ref t < (nuint)fullTiles ? ref Unsafe.Add(ref x, t * L) : ref xTail;
            for (nuint l = 0; l < L; l++)
            {
                float xl = Unsafe.Add(ref xt, l);
                uint p01 = Unsafe.Add(ref q, l), p23 = Unsafe.Add(ref q, L + l);
                s0 += BitConverter.UInt32BitsToSingle(p01 << 16) * xl;
                s1 += BitConverter.UInt32BitsToSingle(p01 & 0xFFFF0000u) * xl;
                s2 += BitConverter.UInt32BitsToSingle(p23 << 16) * xl;
                s3 += BitConverter.UInt32BitsToSingle(p23 & 0xFFFF0000u) * xl;
            }
        }
    }

    /// <summary>
    /// One int8 group, 512-bit. A tile is one 64-byte vector; each 32-bit lane is one column of the four rows, byte r =
    /// row r, so row r is (lane &lt;&lt; (24 − 8r)) &gt;&gt; 24 (arithmetic), converted to float. Two tiles per step give
    /// eight FMA chains.
    /// </summary>
    private static void Int8Dot4Vector512(ref int p, ref float x, ref float xTail, int tiles, int fullTiles,
        out float s0, out float s1, out float s2, out float s3)
    {
        const int L = PackedGemvMatrix.Lanes;           // 16 = Vector512<float>.Count = ints per tile
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        nuint t = 0;
        for (; t + 2 <= (nuint)fullTiles; t += 2)
        {
            Vector512<float> xa = Vector512.LoadUnsafe(ref x, t * L);
            Vector512<float> xb = Vector512.LoadUnsafe(ref x, t * L + L);
            Vector512<int> pa = Vector512.LoadUnsafe(ref p, t * L), pb = Vector512.LoadUnsafe(ref p, t * L + L);
            a0 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle((pa << 24) >> 24), xa, a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle((pa << 16) >> 24), xa, a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle((pa << 8) >> 24), xa, a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(pa >> 24), xa, a3);
            b0 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle((pb << 24) >> 24), xb, b0);
            b1 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle((pb << 16) >> 24), xb, b1);
            b2 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle((pb << 8) >> 24), xb, b2);
            b3 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(pb >> 24), xb, b3);
        }
        for (; t < (nuint)tiles; t++)
        {
            Vector512<float> xa = t < (nuint)fullTiles ? Vector512.LoadUnsafe(ref x, t * L) : Vector512.LoadUnsafe(ref xTail);
            Vector512<int> pa = Vector512.LoadUnsafe(ref p, t * L);
            a0 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle((pa << 24) >> 24), xa, a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle((pa << 16) >> 24), xa, a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle((pa << 8) >> 24), xa, a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(pa >> 24), xa, a3);
        }
        s0 = Vector512.Sum(a0 + b0);
        s1 = Vector512.Sum(a1 + b1);
        s2 = Vector512.Sum(a2 + b2);
        s3 = Vector512.Sum(a3 + b3);
    }

    /// <summary>One int8 group, 256-bit: a tile is two vectors (columns 0-7 and 8-15), eight FMA chains.</summary>
    private static void Int8Dot4Vector256(ref int p, ref float x, ref float xTail, int tiles, int fullTiles,
        out float s0, out float s1, out float s2, out float s3)
    {
        const int L = PackedGemvMatrix.Lanes;           // 16 ints per tile
        const int H = 8;                                // Vector256<float>.Count: half a tile
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (nuint t = 0; t < (nuint)tiles; t++)
        {
            ref float xt = ref t < (nuint)fullTiles ? ref Unsafe.Add(ref x, t * L) : ref xTail;
            Vector256<float> xa = Vector256.LoadUnsafe(ref xt);
            Vector256<float> xb = Vector256.LoadUnsafe(ref xt, H);
            Vector256<int> pa = Vector256.LoadUnsafe(ref p, t * L), pb = Vector256.LoadUnsafe(ref p, t * L + H);
            a0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle((pa << 24) >> 24), xa, a0);
            b0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle((pb << 24) >> 24), xb, b0);
            a1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle((pa << 16) >> 24), xa, a1);
            b1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle((pb << 16) >> 24), xb, b1);
            a2 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle((pa << 8) >> 24), xa, a2);
            b2 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle((pb << 8) >> 24), xb, b2);
            a3 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(pa >> 24), xa, a3);
            b3 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(pb >> 24), xb, b3);
        }
        s0 = Vector256.Sum(a0 + b0);
        s1 = Vector256.Sum(a1 + b1);
        s2 = Vector256.Sum(a2 + b2);
        s3 = Vector256.Sum(a3 + b3);
    }

    /// <summary>One int8 group, scalar: the same tile walk, one 32-bit lane (a column of four rows) at a time.</summary>
    private static void Int8Dot4Scalar(ref int p, ref float x, ref float xTail, int tiles, int fullTiles,
        out float s0, out float s1, out float s2, out float s3)
    {
        const int L = PackedGemvMatrix.Lanes;
        s0 = 0f;
        s1 = 0f;
        s2 = 0f;
        s3 = 0f;
        for (nuint t = 0; t < (nuint)tiles; t++)
        {
            ref int q = ref Unsafe.Add(ref p, t * L);
            ref float xt = ref t < (nuint)fullTiles ? ref Unsafe.Add(ref x, t * L) : ref xTail;
            for (nuint l = 0; l < L; l++)
            {
                float xl = Unsafe.Add(ref xt, l);
                int lane = Unsafe.Add(ref q, l);
                s0 += (sbyte)lane * xl;
                s1 += (sbyte)(lane >> 8) * xl;
                s2 += (sbyte)(lane >> 16) * xl;
                s3 += (lane >> 24) * xl;
            }
        }
    }

    [DoesNotReturn]
    private static void ThrowNotFloat32(PackedElement element, string name) =>
        throw new ArgumentException($"{name}: Wᵀ·x reads fp32 packed weights; this matrix stores {element} (an inference layout, W·x only).", name);
}
