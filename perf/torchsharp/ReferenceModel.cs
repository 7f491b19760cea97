using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpanAttention.Anchors;

/// <summary>
/// perf/pytorch/seq2seq_bench.py's model in TorchSharp, module for module: encoder embedding -> nn.GRU; decoder
/// with additive attention (W_q, W_k with bias b, v), nn.GRUCell over [embedding; context], nn.Linear to the
/// vocabulary. Parameters are loaded from PyTorch's state_dict values under the same names.
/// </summary>
internal sealed class ReferenceModel : IDisposable
{
    private readonly Embedding _encoderEmbedding;
    private readonly GRU _rnn;
    private readonly Embedding _decoderEmbedding;
    private readonly Linear _wQ;
    private readonly Linear _wK;
    private readonly Linear _v;
    private readonly GRUCell _cell;
    private readonly Linear _out;
    private readonly int _vocabulary;

    public ReferenceModel(Reference reference)
    {
        int H = reference.H, V = reference.V;
        _vocabulary = V;
        _encoderEmbedding = nn.Embedding(V, H);
        _rnn = nn.GRU(H, H, numLayers: 1);
        _decoderEmbedding = nn.Embedding(V, H);
        _wQ = nn.Linear(H, H, hasBias: false);
        _wK = nn.Linear(H, H, hasBias: true);
        _v = nn.Linear(H, 1, hasBias: false);
        _cell = nn.GRUCell(H + H, H);
        _out = nn.Linear(H, V);
        var byName = new Dictionary<string, Parameter>();
        void Add(string prefix, nn.Module module)
        {
            foreach (var (name, p) in module.named_parameters())
            {
                byName[prefix + name] = p;
            }
        }
        Add("encoder.embedding.", _encoderEmbedding);
        Add("encoder.rnn.", _rnn);
        Add("decoder.embedding.", _decoderEmbedding);
        Add("decoder.attention.W_q.", _wQ);
        Add("decoder.attention.W_k.", _wK);
        Add("decoder.attention.v.", _v);
        Add("decoder.cell.", _cell);
        Add("decoder.out.", _out);
        using (no_grad())
        {
            foreach (var (name, shape, values) in reference.Parameters())
            {
                if (!byName.TryGetValue(name, out Parameter? p) || !p.shape.SequenceEqual(shape))
                {
                    throw new InvalidDataException($"Parameter {name} [{string.Join(", ", shape)}] has no TorchSharp counterpart of that shape.");
                }
                using Tensor t = tensor(values, shape);
                p.copy_(t);
                Parameters.Add(p);
            }
        }
        if (Parameters.Count != byName.Count)
        {
            throw new InvalidDataException($"The reference has {Parameters.Count} parameters, the model {byName.Count}.");
        }
    }

    /// <summary>Every parameter in PyTorch's order (the optimizer's order too).</summary>
    public List<Parameter> Parameters { get; } = [];

    /// <summary>Mean cross-entropy of the teacher-forced decoder. src [S, B], tgtIn / tgtOut [T, B] int64.</summary>
    public Tensor Loss(Tensor src, Tensor tgtIn, Tensor tgtOut)
    {
        var (K, h) = Encode(src);                                    // K [B, S, H], h [B, H]
        Tensor Kp = _wK.forward(K);                                  // [B, S, A], once per batch
        Tensor x = _decoderEmbedding.forward(tgtIn);                 // [T, B, E]
        var hs = new Tensor[tgtIn.shape[0]];
        for (int t = 0; t < hs.Length; t++)
        {
            h = Step(x[t], h, Kp, K);
            hs[t] = h;
        }
        Tensor logits = _out.forward(stack(hs));                     // [T, B, V] in one GEMM
        return nn.functional.cross_entropy(logits.reshape(-1, _vocabulary), tgtOut.reshape(-1));
    }

    /// <summary>Greedy decoding of <paramref name="steps"/> tokens from src [S, 1] (call under inference mode).</summary>
    public void Greedy(Tensor src, int steps, long bos, long[] tokens)
    {
        var (K, h) = Encode(src);
        Tensor Kp = _wK.forward(K);
        Tensor y = full(1, bos, dtype: ScalarType.Int64);
        for (int t = 0; t < steps; t++)
        {
            h = Step(_decoderEmbedding.forward(y), h, Kp, K);
            y = _out.forward(h).argmax(1);
            tokens[t] = y.item<long>();
        }
    }

    public void Dispose()
    {
        _encoderEmbedding.Dispose();
        _rnn.Dispose();
        _decoderEmbedding.Dispose();
        _wQ.Dispose();
        _wK.Dispose();
        _v.Dispose();
        _cell.Dispose();
        _out.Dispose();
    }

    private (Tensor K, Tensor H) Encode(Tensor src)
    {
        Tensor x = _encoderEmbedding.forward(src);                   // [S, B, E]
        var (K, h) = _rnn.forward(x);                                // K [S, B, H], h [1, B, H]
        return (K.transpose(0, 1), h[0]);                            // K [B, S, H] (view), h [B, H]
    }

    /// <summary>s_j = v · tanh(W_q q + K'_j), a = softmax(s), context = Σ_j a_j K_j; h' = GRUCell([x; context], h).</summary>
    private Tensor Step(Tensor x, Tensor h, Tensor Kp, Tensor K)
    {
        Tensor e = tanh(Kp + _wQ.forward(h).unsqueeze(1));           // [B, S, A]
        Tensor s = _v.forward(e).squeeze(2);                         // [B, S]
        Tensor a = softmax(s, 1);                                    // [B, S]
        Tensor context = bmm(a.unsqueeze(1), K).squeeze(1);          // [B, H]
        return _cell.forward(cat([x, context], 1), h);               // [B, H]
    }
}
