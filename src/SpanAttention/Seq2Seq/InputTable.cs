using System.Numerics.Tensors;
using SpanAttention.Kernels;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// A recurrent layer's input projection of embedded tokens by lookup: gates_in[r] = W[:, :E] · Emb[ids[r]] takes one
/// of V values, so for a small vocabulary table = Emb · W[:, :E]ᵀ (V, G·H) is computed once and rows are copied.
/// </summary>
internal static class InputTable
{
    /// <summary>table = Emb W[:, :E]ᵀ: (V, G·H). Overwrites <paramref name="table"/>.</summary>
    /// <param name="v">V: the vocabulary size.</param>
    /// <param name="gw">G·H: the gate width.</param>
    /// <param name="e">E: the embedding size.</param>
    /// <param name="embedding">Emb (V, E).</param>
    /// <param name="weight">W (G·H, ld); its first E columns multiply the embedding.</param>
    /// <param name="ld">The row stride of W.</param>
    /// <param name="table">(V, G·H).</param>
    public static void Build(int v, int gw, int e, ReadOnlySpan<float> embedding, ReadOnlySpan<float> weight, int ld, Span<float> table) =>
        Gemm.Multiply(v, gw, e, embedding, e, Transpose.No, weight, ld, Transpose.Yes, table, gw, false);

    /// <summary>rows[r] = table[ids[r]] for r in 0..n-1: (n, G·H). Overwrites <paramref name="rows"/>.</summary>
    public static void LookUp(ReadOnlySpan<float> table, int gw, ReadOnlySpan<int> ids, int n, Span<float> rows)
    {
        for (int r = 0; r < n; r++)
        {
            table.Slice(ids[r] * gw, gw).CopyTo(rows.Slice(r * gw, gw));
        }
    }

    /// <summary>
    /// Backward of rows[r] = table[ids[r]] with table = Emb · W[:, :E]ᵀ: dtable[v] = Σ_{ids[r] = v} dRows[r];
    /// dW[:, :E] += dtableᵀ Emb; dEmb[v] += dtable[v] W[:, :E] for v ≠ padding (as <c>Embedding.Backward</c> skips it).
    /// Accumulates into <paramref name="dWeight"/> and <paramref name="dEmbedding"/>.
    /// </summary>
    /// <param name="rows">N: the looked-up rows.</param>
    /// <param name="ids">(N) the token of each row.</param>
    /// <param name="dRows">(N, G·H) the gradient of the looked-up rows.</param>
    /// <param name="gw">G·H.</param>
    /// <param name="v">V.</param>
    /// <param name="e">E.</param>
    /// <param name="paddingId">The padding id, whose embedding row gets no gradient.</param>
    /// <param name="embedding">Emb (V, E).</param>
    /// <param name="weight">W (G·H, ld).</param>
    /// <param name="ld">The row stride of W and dW.</param>
    /// <param name="dWeight">dW (G·H, ld): its first E columns are accumulated into.</param>
    /// <param name="dEmbedding">dEmb (V, E), accumulated into.</param>
    /// <param name="dTable">Scratch (V, G·H).</param>
    /// <param name="dTableEmbedding">Scratch (V, E).</param>
    public static void Backward(int rows, ReadOnlySpan<int> ids, ReadOnlySpan<float> dRows, int gw, int v, int e, int paddingId,
        ReadOnlySpan<float> embedding, ReadOnlySpan<float> weight, int ld, Span<float> dWeight, Span<float> dEmbedding,
        Span<float> dTable, Span<float> dTableEmbedding)
    {
        dTable = dTable.Slice(0, v * gw);
        dTable.Clear();
        for (int r = 0; r < rows; r++)
        {
            Span<float> row = dTable.Slice(ids[r] * gw, gw);
            TensorPrimitives.Add(row, dRows.Slice(r * gw, gw), row);                                             // dtable[id] += dRows[r]
        }
        Gemm.Multiply(gw, e, v, dTable, gw, Transpose.Yes, embedding, e, Transpose.No, dWeight, ld, true);          // dW[:, :E] += dtableᵀ Emb (G·H, E)
        Span<float> dEmb = dTableEmbedding.Slice(0, v * e);
        Gemm.Multiply(v, e, gw, dTable, gw, Transpose.No, weight, ld, Transpose.No, dEmb, e, false);                // (V, E) = dtable W[:, :E]
        for (int k = 0; k < v; k++)
        {
            if (k != paddingId)
            {
                Span<float> dst = dEmbedding.Slice(k * e, e);
                TensorPrimitives.Add(dst, dEmb.Slice(k * e, e), dst);
            }
        }
    }
}
