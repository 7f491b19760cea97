using SpanAttention.IO;
using SpanAttention.Parameters;
using Xunit;

namespace SpanAttention.Tests.IO;

/// <summary>
/// The reader's checks at their exact edges: an element count or byte size exactly at its limit, offsets
/// exactly at long.MaxValue, overlapping tensors sorted by where they begin, and the plain slot names when no
/// prefix is given. Each error is asserted on what its message names, so a neighbouring check firing instead fails.
/// </summary>
public class SafeTensorsReaderBoundaryTests
{
    private static string Entry(string name, string dtype, string shape, string begin, string end) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}";

    private static string OpenFails(string header, int dataBytes)
    {
        using var stream = new MemoryStream(SafeTensorsReaderTests.Craft(header, dataBytes));
        return Assert.Throws<ModelFileException>(() => SafeTensorsReader.Open(stream)).Message;
    }

    [Fact]
    public void EnsureNoOtherTensors_NoPrefix_AcceptsThePlainSlotNames()
    {
        byte[] file = SafeTensorsReaderTests.Craft("{" + Entry("a", "F32", "[2]", "0", "8") + "," + Entry("b", "F32", "[1]", "8", "12") + "}", 12);
        using var stream = new MemoryStream(file);
        using SafeTensorsReader reader = SafeTensorsReader.Open(stream);
        var layout = new ParameterLayout();
        layout.Add("a", 2);
        layout.Add("b", 1);
        reader.EnsureNoOtherTensors(layout);   // no prefixes: the plain names, no throw
    }

    [Fact]
    public void Open_ElementCountExactlyUlongMax_ReportsTheByteSizeNotTheCount()
    {
        // 3 * 6148914691236517205 = 2^64 - 1: the count fits a ulong, its F32 byte size does not fit a long
        string message = OpenFails("{" + Entry("a", "F32", "[3,6148914691236517205]", "0", "0") + "}", 0);
        Assert.Contains("the byte size of shape", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_ByteSizeExactlyAtTheLimit_ReportsTheOffsetsSpan()
    {
        // 2305843009213693951 * 4 = long.MaxValue - 3: fits; the offsets [4, 16] span 12 bytes
        string message = OpenFails("{" + Entry("a", "F32", "[2305843009213693951]", "4", "16") + "}", 16);
        Assert.Contains("span 12 bytes", message, StringComparison.Ordinal);
        Assert.Contains("needs 9223372036854775804", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_OffsetsExactlyLongMax_AreNotAnOverflow()
    {
        string begin = OpenFails("{" + Entry("a", "U8", "[0]", "9223372036854775807", "9223372036854775807") + "}", 0);
        Assert.Contains("leaves a gap", begin, StringComparison.Ordinal);
        string end = OpenFails("{" + Entry("a", "U8", "[9223372036854775807]", "0", "9223372036854775807") + "}", 0);
        Assert.Contains("data buffer has 0 bytes", end, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_NegativeBegin_NamesDataOffsets()
    {
        string message = OpenFails("{" + Entry("a", "F32", "[1]", "-1", "4") + "}", 4);
        Assert.Contains("'data_offsets' holds the negative value -1", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_TensorBeginningInsideTheFirst_ReportsAnOverlapNotAGap()
    {
        // a [0, 8) and b [2, 4): sorted by begin, b starts inside a (sorted by end, b would come first and look like a gap at 0)
        string message = OpenFails("{" + Entry("a", "F32", "[2]", "0", "8") + "," + Entry("b", "U8", "[2]", "2", "4") + "}", 8);
        Assert.Contains("'b' starts at byte 2, but the previous tensor ends at 8", message, StringComparison.Ordinal);
        Assert.Contains("overlaps the previous tensor", message, StringComparison.Ordinal);
    }
}
