using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SpanAttention.Data;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Data;

public class ReverseTests
{
    [Property(MaxTest = 50)]
    public Property Generate_AnyOptions_TargetIsReversedSourceWithinLengthAndAlphabet()
    {
        Gen<ReverseOptions> options =
            from min in Gen.Choose(3, 12)
            from extra in Gen.Choose(0, 10)
            from symbols in Gen.Choose(4, Reverse.MaxSymbols)
            from count in Gen.Choose(1, 30)
            from seed in Gen.Choose(0, 1_000_000)
            select new ReverseOptions { MinLength = min, MaxLength = min + extra, Symbols = symbols, Count = count, Seed = seed };
        return Prop.ForAll(options.ToArbitrary(), o =>
        {
            IReadOnlyList<SentencePair> pairs = Reverse.Generate(o);
            return pairs.Count == o.Count
                && pairs.Select(p => p.Source).Distinct().Count() == o.Count
                && pairs.All(p =>
                {
                    string[] s = Tokenizer.Words(p.Source);
                    string[] t = Tokenizer.Words(p.Target);
                    return s.Length >= o.MinLength && s.Length <= o.MaxLength
                        && s.Reverse().SequenceEqual(t)
                        && s.All(x => x.Length == 1 && x[0] >= 'a' && x[0] < 'a' + o.Symbols);
                });
        });
    }

    [Fact]
    public void Create_StressSetting_LengthsThirtyToForty()
    {
        Dataset d = Reverse.Create(ReverseOptions.Stress with { Count = 500 });
        Assert.All(d.Train.Concat(d.Test), p => Assert.InRange(Tokenizer.Words(p.Source).Length, 30, 40));
        Assert.Equal(500, d.Train.Count + d.Validation.Count + d.Test.Count);
    }

    [Fact]
    public void Create_SameSeed_Deterministic()
    {
        Assert.Equal(Reverse.Create().Train, Reverse.Create().Train);
        Assert.NotEqual(Reverse.Create().Train, Reverse.Create(new ReverseOptions { Seed = 2 }).Train);
    }

    [Fact]
    public void Generate_BadOptions_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Reverse.Generate(new ReverseOptions { Symbols = 27 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Reverse.Generate(new ReverseOptions { MinLength = 5, MaxLength = 4 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Reverse.Generate(new ReverseOptions { MinLength = 1, MaxLength = 1, Symbols = 2, Count = 2 }));
    }
}
