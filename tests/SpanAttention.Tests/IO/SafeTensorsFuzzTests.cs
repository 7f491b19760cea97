using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SpanAttention.IO;
using SpanAttention.Parameters;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.IO;

/// <summary>Corrupted files either load or fail with <see cref="ModelFileException"/>: never another exception type.</summary>
public class SafeTensorsFuzzTests
{
    private static (ParameterLayout Layout, byte[] File) Valid()
    {
        var layout = new ParameterLayout();
        layout.Add("a.weight", 3, 2);
        layout.Add("a.bias", 3);
        layout.Add("b", 1);
        using var stream = new MemoryStream();
        SafeTensorsWriter.Write(stream, SafeTensor.FromLayout(layout, Numerics.Random(layout.Count, 1)), new Dictionary<string, string> { ["k"] = "v" });
        return (layout, stream.ToArray());
    }

    private static bool LoadsOrThrowsModelFileException(ParameterLayout layout, byte[] file)
    {
        try
        {
            using var reader = SafeTensorsReader.Open(new MemoryStream(file));
            reader.ReadInto(layout, new float[layout.Count]);
            return true;
        }
        catch (ModelFileException)
        {
            return true;
        }
    }

    [Property(MaxTest = 2000)]
    public Property Open_RandomlyCorruptedFile_LoadsOrThrowsModelFileException()
    {
        (ParameterLayout layout, byte[] valid) = Valid();
        int headerEnd = 8 + (int)BitConverter.ToInt64(valid, 0);
        Gen<(int Position, byte Value, int Truncate)[]> edits = Gen.ArrayOf(
            from position in Gen.Choose(0, headerEnd - 1)
            from value in Gen.Elements<byte>((byte)'0', (byte)'9', (byte)'-', (byte)'"', (byte)'{', (byte)'}', (byte)'[', (byte)',', (byte)'\\', (byte)'u', 0x80, 0xFF, 0x00, (byte)' ', (byte)'.', (byte)'e')
            from truncate in Gen.Choose(0, 20)
            select (position, value, truncate), 1);
        return Prop.ForAll(Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(edits.Select(e => e[0]), n)).ToArbitrary(), changes =>
        {
            byte[] file = (byte[])valid.Clone();
            foreach ((int position, byte value, _) in changes)
            {
                file[position] = value;
            }
            bool ok = LoadsOrThrowsModelFileException(layout, file);
            int cut = changes[0].Truncate == 0 ? file.Length : Math.Max(0, file.Length - changes[0].Truncate * 7);
            return ok && LoadsOrThrowsModelFileException(layout, file.AsSpan(0, cut).ToArray());
        });
    }

    [Theory]
    [InlineData("{\"\\ud800\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}")]
    [InlineData("{\"__metadata__\":{\"k\":\"\\udc00\"}}")]
    [InlineData("{\"a\":{\"dtype\":\"\\ud800\",\"shape\":[0],\"data_offsets\":[0,0]}}")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1e2],\"data_offsets\":[0,400]}}")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999999],\"data_offsets\":[0,4]}}")]
    public void Open_NastyJsonValues_LoadOrThrowModelFileException(string header)
    {
        (ParameterLayout layout, _) = Valid();
        Assert.True(LoadsOrThrowsModelFileException(layout, SafeTensorsReaderTests.Craft(Encoding.UTF8.GetBytes(header), 0)));
    }
}
