using System.Numerics.Tensors;
using SpanAttention.Attention;
using SpanAttention.Inference;
using SpanAttention.IO;
using SpanAttention.Parameters;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Seq2Seq;

/// <summary>
/// The public encoder seam: an encoder written outside the library (public types only) behind
/// <see cref="Seq2SeqModel(Seq2SeqConfig, Func{ParameterLayout, IEncoder}, int, int, int, int)"/>, trained by the
/// library's own decoder backward and checked like the built-in encoders.
/// </summary>
public sealed class CustomEncoderTests
{
    /// <summary>
    /// A bag of embeddings: states[b, s] = tanh(E[ids[b, s]]) (D wide), h_0 = mean of the valid states (D = H). Backward:
    /// d pre = (dstates + dh_0 / n) ⊙ (1 - states²), scattered into E's rows.
    /// </summary>
    private sealed class BagOfEmbeddings : IEncoder
    {
        private readonly ParameterSlot _embedding;
        private readonly int _vocabulary;

        public BagOfEmbeddings(ParameterLayout layout, int vocabulary, int size)
        {
            _vocabulary = vocabulary;
            Size = size;
            _embedding = layout.Add("encoder.bag.weight", vocabulary, size);
        }

        public int Size { get; }

        public void Initialize(ParameterSet parameters, Random random) => parameters.InitializeUniform(_embedding, 1f, random);

        public void EnsureCapacity(int maxBatch, int maxSource)
        {
        }

        public void Forward(ParameterSet parameters, SourceInput source, EncoderPass pass, EncoderMemory memory)
        {
            int d = Size, steps = source.Steps;
            memory.SetShape(source.Batch, steps, source.Lengths);
            ReadOnlySpan<float> table = _embedding.Of(parameters.Values.AsSpan());
            Span<float> states = memory.States, h0 = memory.InitialState;
            states.Clear();
            h0.Clear();
            for (int b = 0; b < source.Batch; b++)
            {
                int n = source.Lengths[b];
                for (int s = 0; s < n; s++)
                {
                    int id = source.Ids[b * steps + s];
                    if ((uint)id >= (uint)_vocabulary)
                    {
                        throw new ArgumentOutOfRangeException(nameof(source), $"id {id}");
                    }
                    Span<float> row = states.Slice((b * steps + s) * d, d);
                    TensorPrimitives.Tanh(table.Slice(id * d, d), row);
                    TensorPrimitives.MultiplyAdd(row, 1f / n, h0.Slice(b * d, d), h0.Slice(b * d, d));
                }
            }
        }

        public void Backward(ParameterSet parameters, SourceInput source, EncoderMemory memory, bool applyDropoutMasks)
        {
            int d = Size, steps = source.Steps;
            Span<float> grads = _embedding.Of(parameters.Gradients.AsSpan());
            ReadOnlySpan<float> states = memory.States, dStates = memory.DStates, dH0 = memory.DInitialState;
            for (int b = 0; b < source.Batch; b++)
            {
                int n = source.Lengths[b];
                for (int s = 0; s < n; s++)
                {
                    int at = (b * steps + s) * d;
                    Span<float> g = grads.Slice(source.Ids[b * steps + s] * d, d);
                    for (int k = 0; k < d; k++)
                    {
                        float y = states[at + k];
                        g[k] += (dStates[at + k] + dH0[b * d + k] / n) * (1f - y * y);
                    }
                }
            }
        }

        public void ForwardPrepared(InferenceWeights weights, ParameterSet parameters, SourceInput source, EncoderMemory memory) =>
            Forward(parameters, source, EncoderPass.Plain, memory);
    }

    private static Seq2SeqModel Model(Seq2SeqConfig config, int seed) =>
        new(config, layout => new BagOfEmbeddings(layout, config.SourceVocabSize, config.HiddenSize), 3, 5, 5, seed);

    [Theory]
    [InlineData(DecoderStyle.Bahdanau, AttentionScorer.Additive)]
    [InlineData(DecoderStyle.Luong, AttentionScorer.Dot)]
    [InlineData(DecoderStyle.None, AttentionScorer.Additive)]
    public void Backward_CustomEncoder_MatchesFiniteDifferences(DecoderStyle style, AttentionScorer scorer)
    {
        Seq2SeqConfig config = Seq2SeqGradientTests.Tiny(style, scorer: scorer);
        Seq2SeqModel model = Model(config, 11);
        Assert.Equal("encoder.bag.weight", model.Layout.Slots[0].Name);                      // registered before the decoder
        string? failure = Seq2SeqGradientTests.Check(model, Seq2SeqTestData.TinyBatch(config, 5));
        Assert.True(failure is null, failure);
    }

    [Fact]
    public void Decode_CustomEncoder_ReplicaPreparedAndFileAgree()
    {
        Seq2SeqConfig config = Seq2SeqGradientTests.Tiny(DecoderStyle.Bahdanau);
        Seq2SeqModel model = Model(config, 4);
        int[][] sources = [[3, 4, 5, 6], [2, 1]];
        Hypothesis[] plain = Decoding.Greedy(model, sources, 5);
        Hypothesis[] prepared = Decoding.Greedy(model, sources, 5, model.PrepareInference());
        Seq2SeqModel replica = model.CreateReplica();
        Hypothesis[] replicated = Decoding.Greedy(replica, sources, 5);
        string path = Path.Combine(Path.GetTempPath(), $"spanattention-custom-{Guid.NewGuid():N}.safetensors");
        try
        {
            Seq2SeqModelFile.Save(path, model);
            Seq2SeqModel loaded = Model(config, 99);                                           // other values, then the file's
            ModelFile.Load(path, loaded.Layout, loaded.Parameters.Values);
            Assert.Equal(model.Parameters.Values, loaded.Parameters.Values);
            Hypothesis[] fromFile = Decoding.Greedy(loaded, sources, 5);
            for (int i = 0; i < sources.Length; i++)
            {
                Assert.Equal(plain[i].Tokens, prepared[i].Tokens);
                Assert.Equal(plain[i].Tokens, replicated[i].Tokens);
                Assert.Equal(plain[i].Tokens, fromFile[i].Tokens);
                Assert.Equal(plain[i].Score, fromFile[i].Score);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Construct_CustomEncoderOfTheWrongWidth_ThrowsNamingBoth()
    {
        Seq2SeqConfig config = Seq2SeqGradientTests.Tiny(DecoderStyle.Bahdanau);
        var e = Assert.Throws<ArgumentException>(() => new Seq2SeqModel(config, layout => new BagOfEmbeddings(layout, 7, 6), 1, 3, 3));
        Assert.StartsWith("The encoder's memory states are 6 wide; the configuration's EncoderOutputSize is 4.", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>(() => new Seq2SeqModel(config, (Func<ParameterLayout, IEncoder>)null!, 1, 3, 3));
    }
}
