using System.Buffers.Binary;
using System.Text;
using SpanAttention.IO;
using Xunit;

namespace SpanAttention.Tests.IO;

/// <summary>Every rule of the safetensors format, each broken by one crafted file.</summary>
public class SafeTensorsReaderTests
{
    /// <summary>8-byte length N + header (padded with spaces to a multiple of 8 when <paramref name="pad"/>) + data.</summary>
    internal static byte[] Craft(byte[] header, int dataBytes, bool pad = true, ulong? declaredLength = null)
    {
        int padded = pad ? (header.Length + 7) & ~7 : header.Length;
        var file = new byte[8 + padded + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(file, declaredLength ?? (ulong)padded);
        header.CopyTo(file, 8);
        file.AsSpan(8 + header.Length, padded - header.Length).Fill((byte)' ');
        for (int i = 0; i < dataBytes; i++)
        {
            file[8 + padded + i] = (byte)i;
        }
        return file;
    }

    internal static byte[] Craft(string header, int dataBytes) => Craft(Encoding.UTF8.GetBytes(header), dataBytes);

    private static string F32(string name, string shape, long begin, long end) =>
        $"\"{name}\":{{\"dtype\":\"F32\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}";

    public static TheoryData<string, byte[], string> BrokenFiles() => new()
    {
        { "fewer than 8 bytes", new byte[5], "fewer than the 8-byte" },
        { "empty file", [], "has 0 bytes" },
        { "header over 100,000,000", Craft("{}"u8.ToArray(), 0, declaredLength: 100_000_001), "exceeds the limit" },
        { "header length past the end", Craft("{}"u8.ToArray(), 0, declaredLength: 64), "runs past the end" },
        { "header length near ulong max", Craft("{}"u8.ToArray(), 0, declaredLength: ulong.MaxValue - 4), "exceeds the limit" },
        { "invalid UTF-8", Craft([(byte)'{', (byte)'"', 0xFF, 0xFE, (byte)'"', (byte)':', (byte)'1', (byte)'}'], 0), "not valid UTF-8" },
        { "invalid JSON", Craft("{\"a\": ", 0), "not valid JSON" },
        { "trailing garbage", Craft("{} x", 0), "not valid JSON" },
        { "header is an array", Craft("[1, 2]", 0), "start with '{'" },
        { "empty header", Craft([], 0), "start with '{'" },
        { "duplicate tensor name", Craft("{" + F32("a", "[1]", 0, 4) + "," + F32("a", "[1]", 4, 8) + "}", 8), "names 'a' twice" },
        { "duplicate __metadata__", Craft("{\"__metadata__\":{},\"__metadata__\":{}}", 0), "'__metadata__' twice" },
        { "unknown dtype", Craft("{\"a\":{\"dtype\":\"F31\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "unknown dtype 'F31'" },
        { "dtype not a string", Craft("{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "'dtype' is a JSON Number" },
        { "element count overflows", Craft("{" + F32("a", "[4294967296,4294967296,4294967296]", 0, 4) + "}", 4), "element count" },
        { "dimension over long.MaxValue", Craft("{" + F32("a", "[18446744073709551615]", 0, 4) + "}", 4), "overflows" },
        { "byte size overflows", Craft("{" + F32("a", "[4611686018427387904]", 0, 4) + "}", 4), "byte size" },
        { "size differs from offsets", Craft("{" + F32("a", "[2]", 0, 4) + "}", 4), "needs 8" },
        { "end before begin", Craft("{" + F32("a", "[0]", 8, 4) + "}", 8), "before begin" },
        { "gap between tensors", Craft("{" + F32("a", "[2]", 0, 8) + "," + F32("b", "[2]", 12, 20) + "}", 20), "leaves a gap" },
        { "first tensor not at 0", Craft("{" + F32("a", "[1]", 4, 8) + "}", 8), "'a' starts at byte 4" },
        { "overlapping tensors", Craft("{" + F32("a", "[2]", 0, 8) + "," + F32("b", "[2]", 4, 12) + "}", 12), "overlaps" },
        { "data longer than the last end", Craft("{" + F32("a", "[2]", 0, 8) + "}", 12), "data buffer has 12 bytes" },
        { "data shorter than the last end", Craft("{" + F32("a", "[2]", 0, 8) + "}", 4), "data buffer has 4 bytes" },
        { "data without tensors", Craft("{}", 8), "data buffer has 8 bytes" },
        { "metadata value not a string", Craft("{\"__metadata__\":{\"k\":1}}", 0), "'k' is a JSON Number" },
        { "metadata not an object", Craft("{\"__metadata__\":\"x\"}", 0), "'__metadata__' is a JSON String" },
        { "duplicate metadata key", Craft("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0), "names 'k' twice" },
        { "negative dimension", Craft("{" + F32("a", "[-2]", 0, 0) + "}", 0), "negative value -2" },
        { "fractional dimension", Craft("{" + F32("a", "[1.5]", 0, 4) + "}", 4), "not a non-negative integer" },
        { "shape not an array", Craft("{" + F32("a", "3", 0, 12) + "}", 12), "'shape' is a JSON Number" },
        { "negative offset", Craft("{" + F32("a", "[1]", -4, 0) + "}", 0), "negative value -4" },
        { "offsets not a pair", Craft("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4), "array of two integers" },
        { "missing field", Craft("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), "'data_offsets' is missing" },
        { "unexpected field", Craft("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4), "unexpected field 'x'" },
        { "repeated field", Craft("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "'dtype' appears twice" },
        { "entry not an object", Craft("{\"a\":[1]}", 0), "not an object" },
    };

    [Theory]
    [MemberData(nameof(BrokenFiles))]
    public void Open_FileBreakingARule_ThrowsModelFileExceptionNamingIt(string rule, byte[] file, string expected)
    {
        using var stream = new MemoryStream(file);
        ModelFileException e = Assert.Throws<ModelFileException>(() => SafeTensorsReader.Open(stream));
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"{rule}: message \"{e.Message}\" does not contain \"{expected}\"");
    }

    [Fact]
    public void Open_BrokenFileOnDisk_ThrowsAndReleasesTheFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sa-broken-{Guid.NewGuid():N}.safetensors");
        File.WriteAllBytes(path, Craft("{" + F32("a", "[2]", 0, 8) + "}", 4));
        try
        {
            Assert.Throws<ModelFileException>(() => SafeTensorsReader.Open(path));
            File.Delete(path); // would fail on Windows if the reader kept the file open; on Linux proves nothing but is harmless
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Open_ScalarAndEmptyTensorsAndOtherDTypes_AreValid()
    {
        byte[] file = Craft("{\"__metadata__\":{\"k\":\"v\"}," + F32("scalar", "[]", 0, 4) + "," + F32("empty", "[3,0]", 4, 4) +
            ",\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[4,8]}}", 8);
        using var stream = new MemoryStream(file);
        using SafeTensorsReader reader = SafeTensorsReader.Open(stream);
        Assert.Equal(3, reader.Tensors.Count);
        Assert.Equal("v", reader.Metadata["k"]);
        Assert.Equal(1, reader["scalar"].ElementCount);
        Assert.Equal(0, reader["empty"].ElementCount);
        Assert.Equal(SafeTensorsDType.F16, reader["h"].DType);
        ModelFileException e = Assert.Throws<ModelFileException>(() => reader.ReadSingle("h", [2], new float[2]));
        Assert.Contains("dtype F16", e.Message, StringComparison.Ordinal);
        Assert.Contains("no tensor 'zz'", Assert.Throws<ModelFileException>(() => reader["zz"]).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_HeaderWithoutPaddingOrWithTrailingSpaces_IsAccepted()
    {
        byte[] unpadded = Craft(Encoding.UTF8.GetBytes("{" + F32("a", "[1]", 0, 4) + "}"), 4, pad: false);
        using var stream = new MemoryStream(unpadded);
        using SafeTensorsReader reader = SafeTensorsReader.Open(stream);
        var value = new float[1];
        reader.ReadSingle("a", [1], value);
        Assert.Equal(BitConverter.ToSingle([0, 1, 2, 3]), value[0]);
    }
}
