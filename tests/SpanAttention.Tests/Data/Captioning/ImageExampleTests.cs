using SpanAttention.Data.Captioning;
using Xunit;

namespace SpanAttention.Tests.Data.Captioning;

public class ImageExampleTests
{
    private static ImageExample Make(int channels = 1, int h = 4, int w = 5, int pixels = 20, int tokens = 2, int[]? objects = null, PixelBox? box = null, int[]? sources = null) =>
        new(channels, h, w, new float[pixels], Enumerable.Repeat("x", tokens).ToArray(), [box ?? new PixelBox(0, 0, 2, 2)], objects ?? [0, -1], "k", sources);

    [Fact]
    public void Constructor_ConsistentParts_KeepsThem()
    {
        ImageExample e = Make();
        Assert.Equal("x x", e.Caption);
        Assert.Equal(new PixelBox(0, 0, 2, 2), e.BoxOfToken(0));
        Assert.Null(e.BoxOfToken(1));
    }

    [Fact]
    public void Constructor_InconsistentParts_TypedErrorNamingThePart()
    {
        Assert.Equal("channels", Assert.Throws<ArgumentOutOfRangeException>(() => Make(channels: 2)).ParamName);
        Assert.Equal("pixels", Assert.Throws<ArgumentException>(() => Make(pixels: 19)).ParamName);
        Assert.Equal("tokenObjects", Assert.Throws<ArgumentException>(() => Make(tokens: 3)).ParamName);
        Assert.Equal("tokenObjects", Assert.Throws<ArgumentException>(() => Make(objects: [1, -1])).ParamName);
        Assert.Equal("tokenObjects", Assert.Throws<ArgumentException>(() => Make(objects: [-2, -1])).ParamName);
        Assert.Equal("boxes", Assert.Throws<ArgumentException>(() => Make(box: new PixelBox(0, 0, 6, 1))).ParamName);
        Assert.Equal("boxes", Assert.Throws<ArgumentException>(() => Make(box: new PixelBox(2, 2, 2, 3))).ParamName);
        Assert.Equal("objectSources", Assert.Throws<ArgumentException>(() => Make(sources: [1, 2])).ParamName);
    }

    [Fact]
    public void PixelBox_ContainsAndOverlaps_HalfOpen()
    {
        var b = new PixelBox(1, 2, 4, 6);
        Assert.Equal((3, 4, 12), (b.Width, b.Height, b.Area));
        Assert.True(b.Contains(1, 2) && b.Contains(3, 5));
        Assert.False(b.Contains(4, 2) || b.Contains(1, 6) || b.Contains(0, 3));
        Assert.True(b.Overlaps(new PixelBox(3, 5, 9, 9)));
        Assert.False(b.Overlaps(new PixelBox(4, 2, 9, 9)));
        Assert.False(b.Overlaps(new PixelBox(0, 6, 9, 9)));
    }
}
