using System.Text.Json;
using SpanAttention.Parameters;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Support;
using SpanAttention.Transformer;
using Xunit;
using static SpanAttention.Tests.Transformer.TransformerTestData;

namespace SpanAttention.Tests.Transformer;

public class PositionalEncodingTests
{
    [Fact]
    public void ForwardBackward_PyTorchCase_MatchesScaledEmbeddingPlusSinusoids()
    {
        JsonElement root = Load("positional");
        int s = root.GetProperty("S").GetInt32(), e = root.GetProperty("E").GetInt32(), v = root.GetProperty("V").GetInt32();
        int[] ids = Ints(root, "ids");
        int batch = ids.Length / s;
        var layout = new ParameterLayout();
        var embedding = new Embedding(layout, "embedding", v, e, paddingId: 0);
        var set = new ParameterSet(layout);
        Floats(root, "embedding.weight").CopyTo(embedding.Weight.Of(set.Values.AsSpan()));
        var encoding = new PositionalEncoding(embedding, maxSteps: s + 2, maxTokens: batch * s);
        Numerics.AssertClose(Floats(root, "encoding"), encoding.Table.Slice(0, s * e), 1e-6f, 1e-6f, "encoding");

        var x = new float[batch * s * e];
        encoding.Forward(ids, batch, s, set.Values, x);
        Numerics.AssertClose(Floats(root, "output"), x, 1e-5f, 1e-5f, "output");
        encoding.Backward(Floats(root, "d_output"), ids, batch, s, set.Gradients);
        Numerics.AssertClose(Floats(root, "d_embedding.weight"), embedding.Weight.Of(set.Gradients.AsSpan()), 1e-5f, 1e-5f, "d_embedding.weight");
    }

    [Fact]
    public void ForwardBackward_SteadyState_AllocateNothing()
    {
        var layout = new ParameterLayout();
        var embedding = new Embedding(layout, "embedding", 11, 8);
        var set = new ParameterSet(layout);
        var encoding = new PositionalEncoding(embedding, 10, 30);
        int[] ids = Enumerable.Range(0, 30).Select(i => i % 11).ToArray();
        var x = new float[30 * 8];
        long bytes = Allocations.AfterWarmUp(() =>
        {
            encoding.Forward(ids, 3, 10, set.Values, x);
            encoding.Backward(x, ids, 3, 10, set.Gradients);
        });
        Assert.Equal(0, bytes);
    }
}
