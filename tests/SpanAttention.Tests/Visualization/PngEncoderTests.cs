using System.Buffers.Binary;
using System.IO.Compression;
using SpanAttention.Visualization;
using StbImageSharp;
using Xunit;

namespace SpanAttention.Tests.Visualization;

/// <summary>The PNG writer: CRC-32 check value, chunk structure and CRCs, and round trips through StbImageSharp's decoder.</summary>
public class PngEncoderTests
{
    [Fact]
    public void Crc32_CheckValue_MatchesTheStandard()
    {
        Assert.Equal(0xCBF43926u, PngEncoder.Crc32("123456789"u8));
        Assert.Equal(0u, PngEncoder.Crc32([]));
    }

    /// <summary>Bit-at-a-time CRC-32 (no table), as the PNG specification's annex writes it.</summary>
    private static uint BitwiseCrc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
            }
        }
        return ~crc;
    }

    private static byte[] RandomBytes(int n, int seed)
    {
        var bytes = new byte[n];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public void Encode_Chunks_SignatureHeaderAndEveryCrc()
    {
        byte[] png = PngEncoder.Encode(RandomBytes(5 * 7 * 3, 1), 7, 5, 3);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        var types = new List<string>();
        int at = 8;
        byte[]? idat = null;
        while (at < png.Length)
        {
            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at));
            string type = System.Text.Encoding.ASCII.GetString(png, at + 4, 4);
            ReadOnlySpan<byte> typeAndData = png.AsSpan(at + 4, 4 + length);
            Assert.Equal(BitwiseCrc(typeAndData), BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length)));
            if (type == "IHDR")
            {
                ReadOnlySpan<byte> h = png.AsSpan(at + 8, length);
                Assert.Equal(13, length);
                Assert.Equal(7u, BinaryPrimitives.ReadUInt32BigEndian(h));
                Assert.Equal(5u, BinaryPrimitives.ReadUInt32BigEndian(h[4..]));
                Assert.Equal(new byte[] { 8, 2, 0, 0, 0 }, h[8..].ToArray()); // depth 8, RGB, deflate, adaptive, no interlace
            }
            if (type == "IDAT")
            {
                idat = png.AsSpan(at + 8, length).ToArray();
            }
            types.Add(type);
            at += 12 + length;
        }
        Assert.Equal(["IHDR", "IDAT", "IEND"], types);
        Assert.Equal(png.Length, at);

        // The zlib stream holds one filter byte plus 7 x 3 bytes per row.
        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(new MemoryStream(idat!), CompressionMode.Decompress))
        {
            zlib.CopyTo(inflated);
        }
        Assert.Equal(5 * ((7 * 3) + 1), inflated.Length);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(9, 3, 1)]
    [InlineData(7, 5, 3)]
    [InlineData(48, 48, 3)]
    [InlineData(4, 6, 4)]
    [InlineData(113, 2, 4)]
    public void Encode_DecodedByStbImage_GivesTheSameBytes(int width, int height, int channels)
    {
        byte[] pixels = RandomBytes(width * height * channels, width + (31 * height) + channels);
        byte[] png = PngEncoder.Encode(pixels, width, height, channels);
        ImageResult image = ImageResult.FromMemory(png, ColorComponents.Default);
        Assert.Equal(width, image.Width);
        Assert.Equal(height, image.Height);
        Assert.Equal(channels, (int)image.SourceComp);
        Assert.Equal(pixels, image.Data);
    }

    [Fact]
    public void ToBytes_PlanarFloats_InterleavedRoundedClamped()
    {
        // (C, H, W) = (3, 1, 2): R = [0, 1], G = [0.5, 2], B = [-1, NaN].
        float[] planar = [0f, 1f, 0.5f, 2f, -1f, float.NaN];
        Assert.Equal(new byte[] { 0, 128, 0, 255, 255, 0 }, PngEncoder.ToBytes(planar, 3, 1, 2));
    }

    [Fact]
    public void Encode_WrongSizes_Refused()
    {
        Assert.Throws<ArgumentException>(() => PngEncoder.Encode(new byte[5], 2, 1, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => PngEncoder.Encode(new byte[4], 2, 1, 2));
    }
}
