using System.Buffers.Binary;
using System.IO.Compression;

namespace SpanAttention.Visualization;

/// <summary>
/// A minimal PNG writer (ISO/IEC 15948): 8-bit grey, RGB or RGBA, no interlacing, one IDAT chunk compressed by
/// <see cref="ZLibStream"/>, so figures can embed images without an image library.
/// </summary>
/// <remarks>
/// <para>File layout: the 8-byte signature, then chunks of (length: u32 big-endian, type: 4 ASCII bytes, data,
/// CRC-32 of type + data: u32 big-endian). IHDR holds width, height, bit depth 8, colour type (0 grey, 2 RGB, 6 RGBA),
/// compression 0, filter 0, interlace 0. IDAT holds the zlib stream of the rows, each prefixed by its filter type;
/// every row uses filter 1 (Sub: each byte minus the byte one pixel to the left), which suits smooth maps and costs
/// nothing to compute. IEND closes the file.</para>
/// <para>CRC-32 is the ISO-HDLC one PNG and zlib use: reflected polynomial 0xEDB88320, initial value and final XOR
/// 0xFFFFFFFF (check value: CRC-32 of the ASCII bytes "123456789" is 0xCBF43926).</para>
/// </remarks>
internal static class PngEncoder
{
    private static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
    private static readonly uint[] CrcTable = MakeCrcTable();

    /// <summary>Encodes interleaved 8-bit pixels as a PNG file.</summary>
    /// <param name="pixels">(H, W, channels) row-major, interleaved: grey, RGB or RGBA bytes.</param>
    /// <param name="width">W ≥ 1.</param>
    /// <param name="height">H ≥ 1.</param>
    /// <param name="channels">1 (grey), 3 (RGB) or 4 (RGBA).</param>
    /// <returns>The PNG file's bytes.</returns>
    public static byte[] Encode(ReadOnlySpan<byte> pixels, int width, int height, int channels)
    {
        byte colorType = channels switch
        {
            1 => 0,
            3 => 2,
            4 => 6,
            _ => throw new ArgumentOutOfRangeException(nameof(channels), $"PNG channels must be 1, 3 or 4, not {channels}."),
        };
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        long stride = (long)width * channels;
        if (pixels.Length != stride * height)
        {
            throw new ArgumentException($"pixels has {pixels.Length} bytes; {width} x {height} x {channels} needs {stride * height}.", nameof(pixels));
        }

        // Rows, each as (filter type 1, Sub-filtered bytes).
        var filtered = new byte[(stride + 1) * height];
        for (int y = 0; y < height; y++)
        {
            ReadOnlySpan<byte> row = pixels.Slice((int)(y * stride), (int)stride);
            Span<byte> output = filtered.AsSpan((int)(y * (stride + 1)), (int)stride + 1);
            output[0] = 1;
            for (int k = 0; k < row.Length; k++)
            {
                output[k + 1] = (byte)(row[k] - (k >= channels ? row[k - channels] : 0));
            }
        }
        byte[] compressed;
        using (var buffer = new MemoryStream())
        {
            using (var zlib = new ZLibStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
            {
                zlib.Write(filtered);
            }
            compressed = buffer.ToArray();
        }

        using var file = new MemoryStream();
        file.Write(Signature);
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], (uint)height);
        header[8] = 8;          // bit depth
        header[9] = colorType;
        header[10] = 0;         // compression: deflate
        header[11] = 0;         // filter method: adaptive (per-row filter bytes)
        header[12] = 0;         // no interlace
        WriteChunk(file, "IHDR"u8, header);
        WriteChunk(file, "IDAT"u8, compressed);
        WriteChunk(file, "IEND"u8, []);
        return file.ToArray();
    }

    /// <summary>Converts planar floats in [0, 1] to interleaved bytes: round(clamp(v, 0, 1) · 255); NaN becomes 0.</summary>
    /// <param name="planar">(C, H, W) row-major.</param>
    /// <param name="channels">C.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <returns>(H, W, C) interleaved bytes.</returns>
    public static byte[] ToBytes(ReadOnlySpan<float> planar, int channels, int height, int width)
    {
        int plane = height * width;
        if (planar.Length != (long)channels * plane)
        {
            throw new ArgumentException($"The image has {planar.Length} values; (C, H, W) = ({channels}, {height}, {width}) needs {(long)channels * plane}.", nameof(planar));
        }
        var bytes = new byte[planar.Length];
        for (int c = 0; c < channels; c++)
        {
            for (int p = 0; p < plane; p++)
            {
                bytes[(p * channels) + c] = ToByte(planar[(c * plane) + p]);
            }
        }
        return bytes;
    }

    /// <summary>round(clamp(v, 0, 1) · 255), NaN as 0.</summary>
    internal static byte ToByte(float v) => float.IsNaN(v) ? (byte)0 : (byte)MathF.Round(Math.Clamp(v, 0f, 1f) * 255f);

    /// <summary>CRC-32 (ISO-HDLC) of <paramref name="data"/>.</summary>
    internal static uint Crc32(ReadOnlySpan<byte> data) => ~Update(0xFFFFFFFFu, data);

    private static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }
        return crc;
    }

    private static uint[] MakeCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }
            table[n] = c;
        }
        return table;
    }

    private static void WriteChunk(Stream file, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, (uint)data.Length);
        file.Write(word);
        file.Write(type);
        file.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, ~Update(Update(0xFFFFFFFFu, type), data));
        file.Write(word);
    }
}
