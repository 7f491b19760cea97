using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SpanAttention.Data.Captioning;
using Xunit;

namespace SpanAttention.Tests.Data.Captioning;

public class ShapeScenesTests
{
    private static readonly Lazy<ImageExample[]> Train = new(() => ShapeScenes.Generate(1, 4000, CaptionSplit.Train));
    private static readonly Lazy<ImageExample[]> HeldOut = new(() => ShapeScenes.Generate(1, 1000, CaptionSplit.HeldOut));
    private static readonly Lazy<ImageExample[]> Compositional = new(() => ShapeScenes.Generate(1, 1000, CaptionSplit.Compositional));

    [Fact]
    public void Generate_SameSeed_SameExamples_OtherSeedOtherExamples()
    {
        ImageExample[] a = ShapeScenes.Generate(7, 40, CaptionSplit.Train);
        ImageExample[] b = ShapeScenes.Generate(7, 40, CaptionSplit.Train);
        ImageExample[] c = ShapeScenes.Generate(8, 40, CaptionSplit.Train);
        for (int i = 0; i < a.Length; i++)
        {
            Assert.Equal(a[i].Pixels, b[i].Pixels);
            Assert.Equal(a[i].Tokens, b[i].Tokens);
            Assert.Equal(a[i].Boxes, b[i].Boxes);
            Assert.Equal(a[i].TokenObjects, b[i].TokenObjects);
        }
        Assert.True(Enumerable.Range(0, 40).Count(i => a[i].Key != c[i].Key) > 30);
    }

    [Fact]
    public void Generate_MoreExamples_FirstOnesUnchangedInEverySplit()
    {
        foreach (CaptionSplit split in new[] { CaptionSplit.Train, CaptionSplit.HeldOut, CaptionSplit.Compositional })
        {
            ImageExample[] few = ShapeScenes.Generate(3, 10, split);
            ImageExample[] many = ShapeScenes.Generate(3, 30, split);
            for (int i = 0; i < few.Length; i++)
            {
                Assert.Equal(few[i].Key, many[i].Key);
                Assert.Equal(few[i].Pixels, many[i].Pixels);
            }
        }
    }

    [Fact]
    public void Generate_HeldOut_NoSceneKeyOccursInTrain()
    {
        var trainKeys = Train.Value.Select(e => e.Key).ToHashSet();
        Assert.DoesNotContain(HeldOut.Value, e => trainKeys.Contains(e.Key));
        Assert.All(HeldOut.Value, e => Assert.True(ShapeScenes.IsHeldOutKey(e.Key)));
        Assert.All(Train.Value, e => Assert.False(ShapeScenes.IsHeldOutKey(e.Key)));
        // The reserved tenth is a tenth of every kind of scene, one-object ones included.
        for (int n = 1; n <= 3; n++)
        {
            Assert.Contains(HeldOut.Value, e => e.Boxes.Length == n);
        }
        // Train from another seed never draws a held-out key either: the reservation does not depend on the seed.
        Assert.DoesNotContain(ShapeScenes.Generate(99, 2000, CaptionSplit.Train), e => ShapeScenes.IsHeldOutKey(e.Key));
    }

    [Fact]
    public void Generate_CompositionalPairs_AbsentFromTrainAndHeldOut_InEveryCompositionalScene()
    {
        static (ShapeKind, ShapeColor)[] PairsOf(ImageExample e) =>
            ShapesGrammar.Parse(e.Tokens).Select(o => (o.Kind, o.Color)).ToArray();
        Assert.DoesNotContain(Train.Value.Concat(HeldOut.Value), e => PairsOf(e).Any(p => ShapeScenes.IsCompositionalPair(p.Item1, p.Item2)));
        Assert.All(Compositional.Value, e => Assert.Contains(PairsOf(e), p => ShapeScenes.IsCompositionalPair(p.Item1, p.Item2)));
        var seen = Compositional.Value.SelectMany(PairsOf).ToHashSet();
        Assert.All(ShapeScenes.CompositionalPairs, p => Assert.Contains(p, seen));
        // Every shape and every colour still occurs in training.
        var trainPairs = Train.Value.SelectMany(PairsOf).ToHashSet();
        Assert.Equal(20, trainPairs.Count);
        Assert.Equal(4, trainPairs.Select(p => p.Item1).Distinct().Count());
        Assert.Equal(6, trainPairs.Select(p => p.Item2).Distinct().Count());
    }

    [Fact]
    public void Generate_ObjectCounts_OneToThreeRoughlyUniform()
    {
        for (int n = 1; n <= 3; n++)
        {
            Assert.InRange(Train.Value.Count(e => e.Boxes.Length == n), 1100, 1600);
        }
        Assert.All(Train.Value, e => Assert.InRange(e.Boxes.Length, 1, 3));
    }

    [Fact]
    public void Generate_Pixels_ShowTheCaptionedScene()
    {
        foreach (ImageExample e in Train.Value.Take(500).Concat(HeldOut.Value.Take(200)).Concat(Compositional.Value.Take(200)))
        {
            AssertImageMatchesCaption(e, ShapeScenes.DefaultImageSize);
        }
    }

    [Property(MaxTest = 30)]
    public Property Generate_AnySizeAndSeed_PixelsShowTheCaptionedScene() =>
        Prop.ForAll(Gen.Choose(ShapeScenes.MinImageSize, 80).ToArbitrary(), Gen.Choose(int.MinValue, int.MaxValue).ToArbitrary(), Gen.Choose(0, 2).ToArbitrary(),
            (size, seed, split) =>
            {
                foreach (ImageExample e in ShapeScenes.Generate(seed, 8, (CaptionSplit)split, size))
                {
                    AssertImageMatchesCaption(e, size);
                }
            });

    /// <summary>
    /// Reads the scene back from the pixels alone, knowing only the palette and the two half-sizes, and checks it
    /// against the parsed caption: boxes inside the image and apart, every lit pixel inside one box, each box's
    /// pixels a multiple of the captioned colour, its place the captioned cell, its area the captioned size and shape.
    /// </summary>
    private static void AssertImageMatchesCaption(ImageExample e, int size)
    {
        Assert.Equal((3, size, size), (e.Channels, e.Height, e.Width));
        ShapeDescription[] scene = ShapesGrammar.Parse(e.Tokens);
        Assert.Equal(scene.Length, e.Boxes.Length);
        Assert.Equal(e.Caption, e.Key);
        Assert.True(e.Pixels.All(p => p is >= 0f and <= 1f), $"a pixel of '{e.Caption}' is outside [0, 1].");
        int plane = size * size;
        for (int y = 0; y < size; y++)
        {
            for (int x = 0; x < size; x++)
            {
                bool lit = e.Pixels[y * size + x] + e.Pixels[plane + y * size + x] + e.Pixels[2 * plane + y * size + x] > 0;
                int inside = e.Boxes.Count(b => b.Contains(x, y));
                Assert.True(inside <= 1, $"pixel ({x}, {y}) is in {inside} boxes of '{e.Caption}'.");
                Assert.True(!lit || inside == 1, $"lit pixel ({x}, {y}) is in no box of '{e.Caption}'.");
            }
        }
        float cell = size / 3f;
        for (int k = 0; k < scene.Length; k++)
        {
            ShapeDescription o = scene[k];
            PixelBox box = e.Boxes[k];
            Assert.True(box.X0 >= 0 && box.Y0 >= 0 && box.X1 <= size && box.Y1 <= size, $"box {box} outside the image.");
            Assert.Equal(o.Column, (int)((box.X0 + box.X1) / 2f / cell));
            Assert.Equal(o.Row, (int)((box.Y0 + box.Y1) / 2f / cell));
            float r = (o.Size == ShapeSize.Small ? ShapeScenes.SmallHalfSize : ShapeScenes.LargeHalfSize) * cell;
            Assert.InRange(box.Width, 2 * r, 2 * r + 2);
            float[] rgb = [ShapesRasterizer.Palette[(int)o.Color, 0], ShapesRasterizer.Palette[(int)o.Color, 1], ShapesRasterizer.Palette[(int)o.Color, 2]];
            double mass = 0, full = 0;
            var rowMass = new double[box.Height];
            for (int y = box.Y0; y < box.Y1; y++)
            {
                for (int x = box.X0; x < box.X1; x++)
                {
                    float coverage = e.Pixels[y * size + x] / rgb[0];
                    for (int c = 1; c < 3; c++)
                    {
                        Assert.Equal(coverage * rgb[c], e.Pixels[c * plane + y * size + x], 1e-5f);
                    }
                    mass += coverage;
                    full = Math.Max(full, coverage);
                    rowMass[y - box.Y0] += coverage;
                }
            }
            Assert.True(full > 0.999, $"no pixel of object {k} of '{e.Caption}' has its full colour.");
            double fill = mass / (4 * r * r);   // the shape's area over its bounding square's: 1, pi/4, 1/2, 1/2
            int widest = Array.IndexOf(rowMass, rowMass.Max());   // a triangle is widest at its base, a diamond in the middle
            string what = $"object {k} of '{e.Caption}' (size {size}): fill {fill:F3}, widest row {widest} of {box.Height}";
            switch (o.Kind)
            {
                case ShapeKind.Square: Assert.True(fill > 0.9, what); break;
                case ShapeKind.Circle: Assert.True(fill is > 0.68 and < 0.88, what); break;
                case ShapeKind.Diamond: Assert.True(fill is > 0.38 and < 0.62 && Math.Abs(widest - (box.Height - 1) / 2.0) <= 1, what); break;
                case ShapeKind.Triangle: Assert.True(fill is > 0.38 and < 0.62 && widest >= box.Height - 2, what); break;
            }
        }
        for (int t = 0; t < e.Tokens.Length; t++)
        {
            bool names = ShapesGrammar.SizeWords.Contains(e.Tokens[t]) || ShapesGrammar.ColorWords.Contains(e.Tokens[t]) || ShapesGrammar.KindWords.Contains(e.Tokens[t]);
            Assert.Equal(names, e.TokenObjects[t] >= 0);
            Assert.Equal(names ? e.Boxes[e.TokenObjects[t]] : null, e.BoxOfToken(t));
        }
    }

    [Fact]
    public void Generate_BadArguments_ArgumentOutOfRangeNamingTheArgument()
    {
        Assert.Equal("count", Assert.Throws<ArgumentOutOfRangeException>(() => ShapeScenes.Generate(1, 0, CaptionSplit.Train)).ParamName);
        Assert.Equal("count", Assert.Throws<ArgumentOutOfRangeException>(() => ShapeScenes.Generate(1, ShapeScenes.MaxCount + 1, CaptionSplit.Train)).ParamName);
        Assert.Equal("split", Assert.Throws<ArgumentOutOfRangeException>(() => ShapeScenes.Generate(1, 1, (CaptionSplit)7)).ParamName);
        Assert.Equal("imageSize", Assert.Throws<ArgumentOutOfRangeException>(() => ShapeScenes.Generate(1, 1, CaptionSplit.Train, 29)).ParamName);
        Assert.Equal("imageSize", Assert.Throws<ArgumentOutOfRangeException>(() => ShapeScenes.Generate(1, 1, CaptionSplit.Train, 257)).ParamName);
    }

    [Fact]
    public void CaptionDatasets_Shapes_IsTheGenerator()
    {
        ImageExample[] a = CaptionDatasets.Shapes(5, 3, CaptionSplit.HeldOut, 64);
        ImageExample[] b = ShapeScenes.Generate(5, 3, CaptionSplit.HeldOut, 64);
        Assert.Equal(a.Select(e => e.Key), b.Select(e => e.Key));
        Assert.Equal(3 * 64 * 64, a[0].Pixels.Length);
    }
}
