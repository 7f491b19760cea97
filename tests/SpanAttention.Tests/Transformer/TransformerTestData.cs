using System.Text.Json;
using SpanAttention.Parameters;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Transformer;

/// <summary>Reading tools/pytorch/transformer_reference.py's files, and a float32 finite-difference check.</summary>
internal static class TransformerTestData
{
    public static JsonElement Load(string name)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "transformer", name + ".json")));
        return doc.RootElement.Clone();
    }

    public static float[] Floats(JsonElement element, string name) =>
        element.GetProperty(name).EnumerateArray().Select(x => (float)x.GetDouble()).ToArray();

    public static int[] Ints(JsonElement element, string name) =>
        element.GetProperty(name).EnumerateArray().Select(x => (int)x.GetDouble()).ToArray();

    /// <summary>Copies every parameter in by its PyTorch name, checking that the names and shapes are exactly PyTorch's.</summary>
    public static void LoadParameters(JsonElement root, ParameterSet set, string property = "parameters")
    {
        JsonElement parameters = root.GetProperty(property);
        Assert.Equal(parameters.EnumerateObject().Select(x => x.Name).Order(), set.Layout.Slots.Select(x => x.Name).Order());
        foreach (ParameterSlot slot in set.Layout.Slots)
        {
            if (root.TryGetProperty("shapes", out JsonElement shapes))
            {
                Assert.Equal(Ints(shapes, slot.Name), slot.Shape);
            }
            Floats(parameters, slot.Name).CopyTo(slot.Of(set.Values.AsSpan()));
        }
    }

    /// <summary>Every parameter gradient against d_parameters.</summary>
    public static void AssertParameterGradients(JsonElement root, ParameterSet set, float rtol = 1e-4f, float atol = 1e-5f)
    {
        foreach (ParameterSlot slot in set.Layout.Slots)
        {
            Numerics.AssertClose(Floats(root.GetProperty("d_parameters"), slot.Name), slot.Of(set.Gradients.AsSpan()), rtol, atol, "d" + slot.Name);
        }
    }

    /// <summary>Central differences of <paramref name="loss"/> in each element of <paramref name="x"/> against <paramref name="analytic"/>.</summary>
    /// <remarks>float32 forward, step 1e-2: truncation ~1e-4 and rounding ~1e-5·|L|/h, so a 2% + 2e-3 band still catches any missing term.</remarks>
    public static void CheckGradient(float[] x, ReadOnlySpan<float> analytic, Func<double> loss, string what, float step = 1e-2f)
    {
        Assert.Equal(x.Length, analytic.Length);
        for (int i = 0; i < x.Length; i++)
        {
            float saved = x[i];
            x[i] = saved + step;
            double plus = loss();
            x[i] = saved - step;
            double minus = loss();
            x[i] = saved;
            double numeric = (plus - minus) / (2.0 * step);
            double diff = Math.Abs(numeric - analytic[i]);
            Assert.True(diff <= 2e-3 + 2e-2 * Math.Abs(numeric), $"{what}[{i}]: analytic {analytic[i]:R}, finite difference {numeric:R}");
        }
    }

    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += (double)a[i] * b[i];
        }
        return sum;
    }
}
