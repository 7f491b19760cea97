using System.Text;
using SpanAttention.IO;
using SpanAttention.Parameters;
using Xunit;

namespace SpanAttention.Tests.IO;

/// <summary>
/// The reader's contract beyond the format rules: who disposes the stream, streams that do not start at 0
/// or cannot seek, boundary layouts, argument checks, and length mismatches, with every error asserted
/// on what its message names.
/// </summary>
public class SafeTensorsReaderContractTests
{
    private static string F32(string name, string shape, long begin, long end) =>
        $"\"{name}\":{{\"dtype\":\"F32\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}";

    /// <summary>A valid file: "a" [2] at [0, 8) and "b" [1] at [8, 12), data bytes 0, 1, 2, ...</summary>
    private static byte[] TwoTensors() => SafeTensorsReaderTests.Craft("{" + F32("a", "[2]", 0, 8) + "," + F32("b", "[1]", 8, 12) + "}", 12);

    private static float Bytes(int first) => BitConverter.ToSingle([(byte)first, (byte)(first + 1), (byte)(first + 2), (byte)(first + 3)]);

    private static ModelFileException OpenFails(byte[] file)
    {
        using var stream = new MemoryStream(file);
        return Assert.Throws<ModelFileException>(() => SafeTensorsReader.Open(stream));
    }

    private static void AssertMentions(Exception e, params string[] parts)
    {
        foreach (string part in parts)
        {
            Assert.True(e.Message.Contains(part, StringComparison.Ordinal), $"message \"{e.Message}\" does not name \"{part}\"");
        }
    }

    /// <summary>A read-only view of a stream that can be made to refuse seeking or reading.</summary>
    private sealed class RestrictedStream(Stream inner, bool canSeek, bool canRead) : Stream
    {
        public override bool CanRead => canRead;
        public override bool CanSeek => canSeek;
        public override bool CanWrite => false;
        public override long Length => canSeek ? inner.Length : throw new NotSupportedException();
        public override long Position
        {
            get => canSeek ? inner.Position : throw new NotSupportedException();
            set => inner.Position = canSeek ? value : throw new NotSupportedException();
        }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => canRead ? inner.Read(buffer, offset, count) : throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => canSeek ? inner.Seek(offset, origin) : throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(false, false)]
    public void Open_StreamNotSeekableOrNotReadable_ThrowsNamingTheStream(bool canSeek, bool canRead)
    {
        using var inner = new MemoryStream(TwoTensors());
        using var stream = new RestrictedStream(inner, canSeek, canRead);
        var e = Assert.Throws<ArgumentException>(() => SafeTensorsReader.Open(stream));
        Assert.Equal("stream", e.ParamName);
        AssertMentions(e, "readable and seekable");
    }

    [Fact]
    public void NullArguments_ThrowNamingThem()
    {
        Assert.Equal("stream", Assert.Throws<ArgumentNullException>(() => SafeTensorsReader.Open((Stream)null!)).ParamName);
        Assert.Equal("path", Assert.ThrowsAny<ArgumentException>(() => SafeTensorsReader.Open((string)null!)).ParamName);
        using var stream = new MemoryStream(TwoTensors());
        using SafeTensorsReader reader = SafeTensorsReader.Open(stream);
        var layout = new ParameterLayout();
        layout.Add("a", 2);
        Assert.Equal("expectedShape", Assert.Throws<ArgumentNullException>(() => reader.ReadSingle("a", null!, new float[2])).ParamName);
        Assert.Equal("layout", Assert.Throws<ArgumentNullException>(() => reader.ReadInto(null!, new float[2])).ParamName);
        Assert.Equal("prefix", Assert.Throws<ArgumentNullException>(() => reader.ReadInto(layout, new float[2], null!)).ParamName);
        Assert.Equal("layout", Assert.Throws<ArgumentNullException>(() => reader.EnsureNoOtherTensors(null!)).ParamName);
        Assert.Equal("prefixes", Assert.Throws<ArgumentNullException>(() => reader.EnsureNoOtherTensors(layout, null!)).ParamName);
    }

    [Fact]
    public void Dispose_LeaveOpen_KeepsTheStreamUsable()
    {
        var stream = new MemoryStream(TwoTensors());
        using (SafeTensorsReader reader = SafeTensorsReader.Open(stream, leaveOpen: true))
        {
            Assert.Equal(2, reader.Tensors.Count);
        }
        Assert.True(stream.CanRead);
        stream.Position = 0;
        Assert.Equal(TwoTensors()[0], (byte)stream.ReadByte());
        stream.Dispose();
    }

    [Fact]
    public void Dispose_WithoutLeaveOpen_DisposesTheStream()
    {
        var stream = new MemoryStream(TwoTensors());
        SafeTensorsReader.Open(stream).Dispose();               // default: leaveOpen false
        Assert.False(stream.CanRead);
        var explicitly = new MemoryStream(TwoTensors());
        SafeTensorsReader.Open(explicitly, leaveOpen: false).Dispose();
        Assert.False(explicitly.CanRead);
    }

    [Fact]
    public void OpenPath_BrokenFile_ReleasesTheFileStream()
    {
        // FileStream on Unix takes an advisory lock (shared for FileShare.Read, exclusive for FileShare.None), so
        // an exclusive open fails while any other stream on the file is still open, in this process too.
        string path = Path.Combine(Path.GetTempPath(), $"sa-contract-{Guid.NewGuid():N}.safetensors");
        try
        {
            File.WriteAllBytes(path, TwoTensors());
            using (SafeTensorsReader reader = SafeTensorsReader.Open(path))
            {
                // the method works: while a reader holds the file, an exclusive open is refused
                Assert.Throws<IOException>(() => new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None).Dispose());
            }
            new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None).Dispose();

            File.WriteAllBytes(path, SafeTensorsReaderTests.Craft("{" + F32("a", "[2]", 0, 8) + "}", 4));
            Assert.Throws<ModelFileException>(() => SafeTensorsReader.Open(path));
            new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None).Dispose();   // throws if the failed open kept its stream
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Open_StreamNotAtPositionZero_ReadsFromItsPosition()
    {
        byte[] file = TwoTensors();
        var stream = new MemoryStream();
        stream.Write("GARBAGE-PREFIX"u8);
        stream.Write(file);
        stream.Position = 14;
        using SafeTensorsReader reader = SafeTensorsReader.Open(stream);
        var a = new float[2];
        var b = new float[1];
        reader.ReadSingle("b", [1], b);
        reader.ReadSingle("a", [2], a);
        Assert.Equal([Bytes(0), Bytes(4)], a);
        Assert.Equal(Bytes(8), b[0]);
    }

    [Fact]
    public void Open_StreamNotAtZero_LengthCountedFromThePosition()
    {
        // 7 bytes of prefix, then a complete file with one byte of data too many: that byte is counted
        byte[] file = SafeTensorsReaderTests.Craft("{" + F32("a", "[1]", 0, 4) + "}", 5);
        var stream = new MemoryStream();
        stream.Write(new byte[7]);
        stream.Write(file);
        stream.Position = 7;
        AssertMentions(Assert.Throws<ModelFileException>(() => SafeTensorsReader.Open(stream)), "data buffer has 5 bytes", "end at byte 4");
        // and 5 bytes left after the position are too few for the length prefix, however long the stream
        var shortTail = new MemoryStream(new byte[20]) { Position = 15 };
        AssertMentions(Assert.Throws<ModelFileException>(() => SafeTensorsReader.Open(shortTail)), "has 5 bytes", "8-byte");
    }

    [Fact]
    public void Open_ExactlyEightBytesWithZeroHeaderLength_ReportsTheHeaderNotTheSize()
    {
        AssertMentions(OpenFails(new byte[8]), "does not start with '{'");
        AssertMentions(OpenFails(new byte[7]), "has 7 bytes", "fewer than the 8-byte");
    }

    [Fact]
    public void Open_HeaderFillingTheWholeFile_IsValidWithNoData()
    {
        using var stream = new MemoryStream(SafeTensorsReaderTests.Craft("{}", 0));
        using SafeTensorsReader reader = SafeTensorsReader.Open(stream);
        Assert.Empty(reader.Tensors);
        Assert.Empty(reader.Metadata);
    }

    [Fact]
    public void Open_HeaderLengthAtTheLimit_ReportsRunningPastTheEndNotTheLimit()
    {
        byte[] atLimit = SafeTensorsReaderTests.Craft("{}"u8.ToArray(), 0, declaredLength: (ulong)SafeTensorsReader.MaxHeaderLength);
        AssertMentions(OpenFails(atLimit), "header length 100000000 runs past the end", "at most 8 bytes of header");
        byte[] onePast = SafeTensorsReaderTests.Craft("{}"u8.ToArray(), 0, declaredLength: 9);
        AssertMentions(OpenFails(onePast), "header length 9 runs past the end");
    }

    [Fact]
    public void Open_ZeroLengthTensorsSharingAnOffset_AreValid()
    {
        // "b" [2] at [4, 12) is listed before the empty "e1" and "e2" at [4, 4): sorted by (begin, end) the
        // empty ones come first, so the layout tiles [0, 12) without gap or overlap.
        byte[] file = SafeTensorsReaderTests.Craft("{" + F32("a", "[1]", 0, 4) + "," + F32("b", "[2]", 4, 12) + "," +
            F32("e1", "[0]", 4, 4) + "," + F32("e2", "[2,0]", 4, 4) + "," + F32("e3", "[0]", 12, 12) + "}", 12);
        using var stream = new MemoryStream(file);
        using SafeTensorsReader reader = SafeTensorsReader.Open(stream);
        Assert.Equal(5, reader.Tensors.Count);
        Assert.Equal(["a", "b", "e1", "e2", "e3"], reader.Tensors.Select(t => t.Name));   // header order kept
        var b = new float[2];
        reader.ReadSingle("b", [2], b);
        Assert.Equal([Bytes(4), Bytes(8)], b);
        reader.ReadSingle("e2", [2, 0], Span<float>.Empty);
    }

    [Theory]
    [InlineData("9223372036854775808", "9223372036854775812")]
    [InlineData("0", "9223372036854775808")]
    [InlineData("18446744073709551615", "18446744073709551615")]
    public void Open_DataOffsetsAboveLongMax_ThrowsNamingTheField(string begin, string end)
    {
        byte[] file = SafeTensorsReaderTests.Craft("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[" + begin + "," + end + "]}}", 4);
        AssertMentions(OpenFails(file), "Tensor 'a'", "'data_offsets'", $"[{begin}, {end}]", "overflow");
    }

    [Theory]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},}")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],}}")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,],\"data_offsets\":[0,4]}}")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} // note")]
    public void Open_TrailingCommaOrComment_IsNotValidJson(string header)
    {
        AssertMentions(OpenFails(SafeTensorsReaderTests.Craft(header, 4)), "not valid JSON");
    }

    [Fact]
    public void Open_EndBeforeBeginAndSizeMismatch_NameTheOffsetsAndShape()
    {
        AssertMentions(OpenFails(SafeTensorsReaderTests.Craft("{" + F32("w", "[1]", 8, 4) + "}", 8)), "Tensor 'w'", "'data_offsets' end 4 is before begin 8");
        AssertMentions(OpenFails(SafeTensorsReaderTests.Craft("{" + F32("w", "[3]", 0, 8) + "}", 8)),
            "Tensor 'w'", "'data_offsets' [0, 8] span 8 bytes", "shape [3] of F32 needs 12");
        AssertMentions(OpenFails(SafeTensorsReaderTests.Craft("{" + F32("w", "[2]", 0, 8) + "," + F32("v", "[1]", 4, 8) + "}", 8)),
            "Tensor 'v' starts at byte 4", "previous tensor ends at 8", "overlaps");
        AssertMentions(OpenFails(SafeTensorsReaderTests.Craft("{" + F32("w", "[1]", 0, 4) + "," + F32("v", "[1]", 8, 12) + "}", 12)),
            "Tensor 'v' starts at byte 8", "previous tensor ends at 4", "leaves a gap");
    }

    [Fact]
    public void Open_EntryFieldsWrong_NameTheTensorAndTheField()
    {
        AssertMentions(OpenFails(SafeTensorsReaderTests.Craft("{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4)), "Tensor 't'", "'dtype' is missing");
        AssertMentions(OpenFails(SafeTensorsReaderTests.Craft("{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4)), "Tensor 't'", "'shape' is missing");
        AssertMentions(OpenFails(SafeTensorsReaderTests.Craft("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4)), "Tensor 't'", "'data_offsets' must be an array of two integers", "[0,4,8]");
        AssertMentions(OpenFails(SafeTensorsReaderTests.Craft("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{\"0\":4}}}", 4)), "Tensor 't'", "'data_offsets' must be an array");
        AssertMentions(OpenFails(SafeTensorsReaderTests.Craft("{\"t\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4)), "Tensor 't'", "'shape' holds \"1\"");
        AssertMentions(OpenFails(SafeTensorsReaderTests.Craft("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,-4]}}", 4)), "Tensor 't'", "'data_offsets' holds the negative value -4");
        AssertMentions(OpenFails(SafeTensorsReaderTests.Craft("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.0]}}", 4)), "Tensor 't'", "'data_offsets' holds 4.0");
        AssertMentions(OpenFails(SafeTensorsReaderTests.Craft("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"t\":{}}", 4)), "names 't' twice");
        AssertMentions(OpenFails(SafeTensorsReaderTests.Craft("{\"t\":7}", 0)), "Tensor 't'", "entry is a JSON Number");
        AssertMentions(OpenFails(SafeTensorsReaderTests.Craft("7", 0)), "start with '{'");
    }

    [Fact]
    public void Open_HugeDimensionTimesZero_IsAnEmptyTensor()
    {
        // a zero dimension makes the count 0 whatever the others are: no overflow is reported
        byte[] file = SafeTensorsReaderTests.Craft("{" + F32("z", "[0,9223372036854775807]", 0, 0) + "}", 0);
        using var stream = new MemoryStream(file);
        using SafeTensorsReader reader = SafeTensorsReader.Open(stream);
        Assert.Equal(0, reader["z"].ElementCount);
        byte[] overflow = SafeTensorsReaderTests.Craft("{" + F32("z", "[9223372036854775807,3]", 0, 0) + "}", 0);
        AssertMentions(OpenFails(overflow), "Tensor 'z'", "element count of shape [9223372036854775807,3] overflows");
        byte[] bytes = SafeTensorsReaderTests.Craft("{" + F32("z", "[2305843009213693952]", 0, 0) + "}", 0);
        AssertMentions(OpenFails(bytes), "Tensor 'z'", "byte size of shape [2305843009213693952] overflows");
    }

    [Fact]
    public void ReadSingle_DestinationLengthMismatch_ThrowsNamingTheTensorAndBothCounts()
    {
        using var stream = new MemoryStream(TwoTensors());
        using SafeTensorsReader reader = SafeTensorsReader.Open(stream);
        foreach (int length in new[] { 1, 3 })
        {
            var destination = new float[length];
            destination.AsSpan().Fill(7f);
            var e = Assert.Throws<ArgumentException>(() => reader.ReadSingle("a", [2], destination));
            Assert.Equal("destination", e.ParamName);
            AssertMentions(e, "Tensor 'a' has 2 elements", $"the destination {length}");
            Assert.All(destination, v => Assert.Equal(7f, v));
        }
    }

    [Fact]
    public void ReadSingle_MissingOrWrongShape_ThrowsNamingBothShapes()
    {
        using var stream = new MemoryStream(TwoTensors());
        using SafeTensorsReader reader = SafeTensorsReader.Open(stream);
        AssertMentions(Assert.Throws<ModelFileException>(() => reader.ReadSingle("c", [3, 4], new float[12])), "Tensor 'c' [3, 4] is missing");
        AssertMentions(Assert.Throws<ModelFileException>(() => reader.ReadSingle("a", [3], new float[3])), "Tensor 'a' has shape [2]", "expects [3]");
        AssertMentions(Assert.Throws<ModelFileException>(() => reader.ReadSingle("a", [2, 1], new float[2])), "Tensor 'a' has shape [2]", "expects [2, 1]");
        AssertMentions(Assert.Throws<ModelFileException>(() => reader.ReadSingle("a", [], new float[1])), "Tensor 'a' has shape [2]", "expects []");
    }

    [Fact]
    public void ReadInto_BufferLengthMismatch_ThrowsNamingBothCounts()
    {
        using var stream = new MemoryStream(TwoTensors());
        using SafeTensorsReader reader = SafeTensorsReader.Open(stream);
        var layout = new ParameterLayout();
        layout.Add("a", 2);
        layout.Add("b", 1);
        foreach (int length in new[] { 2, 4 })
        {
            var e = Assert.Throws<ArgumentException>(() => reader.ReadInto(layout, new float[length]));
            Assert.Equal("buffer", e.ParamName);
            AssertMentions(e, $"buffer has {length} elements", "the layout 3");
        }
        var buffer = new float[3];
        reader.ReadInto(layout, buffer);
        Assert.Equal([Bytes(0), Bytes(4), Bytes(8)], buffer);
    }

    [Fact]
    public void ReadInto_WithPrefix_ReadsThePrefixedTensorsAndChecksAllFirst()
    {
        byte[] file = SafeTensorsReaderTests.Craft("{" + F32("m.a", "[2]", 0, 8) + "," + F32("m.b", "[1]", 8, 12) + "}", 12);
        using var stream = new MemoryStream(file);
        using SafeTensorsReader reader = SafeTensorsReader.Open(stream);
        var layout = new ParameterLayout();
        layout.Add("a", 2);
        layout.Add("b", 1);
        var buffer = new float[3];
        reader.ReadInto(layout, buffer, "m.");
        Assert.Equal([Bytes(0), Bytes(4), Bytes(8)], buffer);
        reader.EnsureNoOtherTensors(layout, "m.");
        AssertMentions(Assert.Throws<ModelFileException>(() => reader.EnsureNoOtherTensors(layout)), "holds tensor 'm.a' [2]", "model does not have");
        AssertMentions(Assert.Throws<ModelFileException>(() => reader.EnsureNoOtherTensors(layout, "x.", "")), "holds tensor 'm.a'");

        var wrong = new ParameterLayout();
        wrong.Add("a", 2);
        wrong.Add("b", 2);
        buffer.AsSpan().Fill(-1f);
        var bigger = new float[4];
        bigger.AsSpan().Fill(-1f);
        AssertMentions(Assert.Throws<ModelFileException>(() => reader.ReadInto(wrong, bigger, "m.")), "Tensor 'm.b' has shape [1]", "expects [2]");
        Assert.All(bigger, v => Assert.Equal(-1f, v));   // "a" was fine, but nothing is written before every slot is checked
    }

    [Fact]
    public void ReadSingle_StreamTruncatedAfterOpen_ThrowsNamingTheTensor()
    {
        var stream = new MemoryStream();
        stream.Write(TwoTensors());
        stream.Position = 0;
        using SafeTensorsReader reader = SafeTensorsReader.Open(stream);
        stream.SetLength(stream.Length - 2);
        var b = new float[1];
        var e = Assert.Throws<ModelFileException>(() => reader.ReadSingle("b", [1], b));
        AssertMentions(e, "Tensor 'b'", "ended before its data");
        Assert.IsType<EndOfStreamException>(e.InnerException);
    }

    [Fact]
    public void Open_MetadataAndLoneSurrogate_NameWhatIsWrong()
    {
        AssertMentions(OpenFails(SafeTensorsReaderTests.Craft("{\"__metadata__\":[]}", 0)), "'__metadata__' is a JSON Array");
        AssertMentions(OpenFails(SafeTensorsReaderTests.Craft("{\"__metadata__\":{\"k\":null}}", 0)), "'__metadata__' entry 'k' is a JSON Null");
        AssertMentions(OpenFails(SafeTensorsReaderTests.Craft(Encoding.UTF8.GetBytes("{\"__metadata__\":{\"k\":\"\\ud800\"}}"), 0)), "lone surrogate");
        AssertMentions(OpenFails(SafeTensorsReaderTests.Craft("{\"__metadata__\":{\"k\":\"1\"},\"__metadata__\":{}}", 0)), "names '__metadata__' twice");
    }
}
