using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SpanAttention.Data.Captioning;
using Xunit;

namespace SpanAttention.Tests.Data.Captioning;

public class ShapesGrammarTests
{
    private static readonly Gen<ShapeDescription[]> Scenes =
        from n in Gen.Choose(1, 3)
        from cells in Gen.Shuffle(Enumerable.Range(0, 9).ToArray())
        from sizes in Gen.ArrayOf(Gen.Choose(0, 1), 3)
        from colors in Gen.ArrayOf(Gen.Choose(0, 5), 3)
        from kinds in Gen.ArrayOf(Gen.Choose(0, 3), 3)
        select cells.Take(n).Order().Select((c, i) =>
            new ShapeDescription((ShapeSize)sizes[i], (ShapeColor)colors[i], (ShapeKind)kinds[i], c / 3, c % 3)).ToArray();

    [Property(MaxTest = 300)]
    public Property CaptionParse_AnyScene_RoundTrips() =>
        Prop.ForAll(Scenes.ToArbitrary(), scene =>
        {
            string[] tokens = ShapesGrammar.Caption(scene, out int[] tokenObjects);
            ShapeDescription[] back = ShapesGrammar.Parse(tokens);
            return back.SequenceEqual(scene)
                && tokens.Length == 8 * scene.Length - 1
                && tokens.All(t => ShapesGrammar.Words.Contains(t))
                && Enumerable.Range(0, scene.Length).All(o => tokenObjects.Count(x => x == o) == 3);
        });

    [Property(MaxTest = 300)]
    public Property Parse_OneTokenReplaced_FailsOrIsTheCaptionOfWhatItParsesTo() =>
        Prop.ForAll(Scenes.ToArbitrary(), Gen.Choose(0, 1000).ToArbitrary(), Gen.Choose(0, 20).ToArbitrary(), (scene, where, word) =>
        {
            string[] tokens = ShapesGrammar.Caption(scene, out _);
            tokens[where % tokens.Length] = ShapesGrammar.Words[word];
            // The grammar is one-to-one: whatever parses is exactly the caption of the scene it parses to.
            return !ShapesGrammar.TryParse(tokens, out ShapeDescription[] parsed, out string? error)
                ? error is not null && parsed.Length == 0
                : ShapesGrammar.Caption(parsed, out _).SequenceEqual(tokens);
        });

    [Fact]
    public void Caption_TwoObjects_ReadsAsDocumented()
    {
        ShapeDescription[] scene =
        [
            new(ShapeSize.Small, ShapeColor.Red, ShapeKind.Circle, 0, 0),
            new(ShapeSize.Large, ShapeColor.Blue, ShapeKind.Square, 1, 1),
        ];
        string[] tokens = ShapesGrammar.Caption(scene, out int[] objects);
        Assert.Equal("a small red circle at top left and a large blue square at middle center", string.Join(' ', tokens));
        Assert.Equal([-1, 0, 0, 0, -1, -1, -1, -1, -1, 1, 1, 1, -1, -1, -1], objects);
    }

    [Theory]
    [InlineData("", "token 0: expected 'a', the caption ended.")]
    [InlineData("a small red circle at top", "token 6: expected a column, the caption ended.")]
    [InlineData("a tiny red circle at top left", "token 1: expected a size (small|large), found 'tiny'.")]
    [InlineData("a small red circle at top left and", "token 8: expected 'a', the caption ended.")]
    [InlineData("a small red circle at top left or a small red circle at top right", "token 7: expected 'and', found 'or'.")]
    [InlineData("a small red circle at top right and a small red circle at top left", "token 13: 'top left' does not come after 'top right' in reading order.")]
    [InlineData("a small red circle at top left and a small red circle at top left", "token 13: 'top left' does not come after 'top left' in reading order.")]
    [InlineData("a small red circle at top left and a small red circle at top center and a small red circle at top right and a small red circle at bottom right",
        "token 24: a caption names at most 3 objects.")]
    public void Parse_NotACaption_FormatExceptionNamesTheToken(string caption, string message)
    {
        string[] tokens = caption.Length == 0 ? [] : caption.Split(' ');
        var e = Assert.Throws<FormatException>(() => ShapesGrammar.Parse(tokens));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Caption_BadScenes_ArgumentException()
    {
        var a = new ShapeDescription(ShapeSize.Small, ShapeColor.Red, ShapeKind.Circle, 1, 1);
        Assert.Throws<ArgumentException>(() => ShapesGrammar.Caption([], out _));
        Assert.Throws<ArgumentException>(() => ShapesGrammar.Caption([a, a], out _));
        Assert.Throws<ArgumentException>(() => ShapesGrammar.Caption([a with { Row = 3 }], out _));
        Assert.Throws<ArgumentException>(() => ShapesGrammar.Caption([a with { Row = 0 }, a with { Row = 1 }, a with { Row = 2 }, a with { Row = 2, Column = 2 }], out _));
    }

    [Fact]
    public void Words_AreDistinctAndCoverTheGrammar()
    {
        Assert.Equal(21, ShapesGrammar.Words.Count);
        Assert.Equal(21, ShapesGrammar.Words.Distinct().Count());
    }
}
