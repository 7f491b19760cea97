namespace SpanAttention.Data.Captioning;

/// <summary>Which part of a built-in captioning task to generate.</summary>
internal enum CaptionSplit
{
    /// <summary>Training scenes.</summary>
    Train,

    /// <summary>
    /// Scenes never seen in training: for <c>shapes</c>, scene keys from a reserved tenth of the key space that
    /// training never draws; for <c>digits</c>, strings made of digit images training never uses.
    /// </summary>
    HeldOut,

    /// <summary><c>shapes</c> only: every scene has at least one colour-shape pair that never occurs in training.</summary>
    Compositional,
}
