namespace SpanAttention.Data.Captioning;

/// <summary>The shapes of the <c>shapes</c> task; the caption word is the lower-case name.</summary>
internal enum ShapeKind
{
    /// <summary>A disc.</summary>
    Circle,

    /// <summary>An axis-aligned square.</summary>
    Square,

    /// <summary>An upward isosceles triangle (apex at the top, base as wide as it is tall).</summary>
    Triangle,

    /// <summary>A square turned 45 degrees.</summary>
    Diamond,
}
