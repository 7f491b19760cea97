using SpanAttention.Attention;
using SpanAttention.Attention.Scorers;
using SpanAttention.Kernels;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// The prepared decoding path's per-sentence workspace (<see cref="InferenceWeights"/>): the projected keys, the
/// Bahdanau context projection U = K W_rᵀ, the fixed context's gate contribution, and one row's scratch. Sized on
/// first use for (B, S) and then reused, so a steady-state prepared step allocates nothing.
/// </summary>
internal sealed class PreparedDecoding
{
    private readonly int _gh, _keyWidth, _attentionSize;
    private int _maxBatch, _maxSource;
    private float[] _keys = [];        // (B, S, P) projected keys: K W_kᵀ + b (Additive) or K Wᵀ (General)
    private float[] _u = [];           // (B, S, G·H) Bahdanau: U = K W_rᵀ, so W_r c = Σ_j a_j U_j
    private float[] _fixedGates = [];  // (B, G·H) None: W_r c, constant over the steps
    private readonly bool _bahdanau;

    /// <param name="gateWidth">G·H.</param>
    /// <param name="keyWidth">P: the widest projected key (0 when the scorer projects none).</param>
    /// <param name="attentionSize">A: the additive scorer's query projection width (0 otherwise).</param>
    /// <param name="bahdanau">Whether U is needed.</param>
    public PreparedDecoding(int gateWidth, int keyWidth, int attentionSize, bool bahdanau)
    {
        _gh = gateWidth;
        _keyWidth = keyWidth;
        _attentionSize = attentionSize;
        _bahdanau = bahdanau;
        Gh = new float[gateWidth];
        Query = new float[attentionSize];
    }

    /// <summary>(G·H) scratch: W_hh h of one row.</summary>
    public float[] Gh { get; }

    /// <summary>(A) scratch: W_q q of one row.</summary>
    public float[] Query { get; }

    /// <summary>The longest valid source n for which a row reads U (n ≤ Dc: then Σ_j a_j U_j is cheaper than W_r c_t); 0: none does.
    /// A per-row rule, so that a row decodes to the same numbers in any batch.</summary>
    public int UseU { get; set; }

    /// <summary>The current S.</summary>
    public int Source { get; private set; }

    /// <summary>Projected keys (B·S, P).</summary>
    public Span<float> Keys => _keys;

    /// <summary>Row b's U (S, G·H).</summary>
    public Span<float> U(int b) => _u.AsSpan(b * Source * _gh, Source * _gh);

    /// <summary>All rows' U (B·S, G·H).</summary>
    public Span<float> AllU(int rows) => _u.AsSpan(0, rows * _gh);

    /// <summary>Row b's W_r c (G·H).</summary>
    public Span<float> FixedGates(int b) => _fixedGates.AsSpan(b * _gh, _gh);

    /// <summary>Grows the buffers for (B, S) and sets the current S.</summary>
    public void Prepare(int bsz, int source)
    {
        if (bsz > _maxBatch || source > _maxSource)
        {
            int b = _maxBatch = Math.Max(bsz, _maxBatch);
            int s = _maxSource = Math.Max(source, _maxSource);
            _keys = _keyWidth > 0 ? new float[b * s * _keyWidth] : [];
            _u = _bahdanau ? new float[b * s * _gh] : [];
            _fixedGates = new float[b * _gh];
        }
        Source = source;
    }

    /// <summary>
    /// Attention for one row b over its n valid keys, with the scorer's prepared scores: a (S) and c (Dc), the same
    /// numbers as <see cref="AttentionLayer"/>'s forward. Keys are the memory states, values = keys.
    /// </summary>
    public void AttendRow(IAttentionScorer scorer, InferenceWeights weights, ReadOnlySpan<float> values, int b, int n, ReadOnlySpan<float> query,
        ReadOnlySpan<float> states, int dk, Span<float> a, Span<float> context)
    {
        int source = Source;
        ReadOnlySpan<float> keys = states.Slice(b * source * dk, n * dk);                                 // (n, Dk); values = keys
        int p = scorer.ProjectedWidth;
        ReadOnlySpan<float> projected = scorer.ProjectsKeys ? _keys.AsSpan(b * source * p, n * p) : keys;  // (n, P)
        scorer.ScoresPrepared(weights, values, query, projected, n, Query, a);                          // (1) s_j = score(q, k_j)
        Softmax.Forward(a, n, a);                                                                       // (2) a = softmax(s), padding 0
        Gemv.MultiplyTransposed(keys, n, dk, dk, a.Slice(0, n), context, accumulate: false);            // (3) c = Σ_j a_j k_j
    }
}
