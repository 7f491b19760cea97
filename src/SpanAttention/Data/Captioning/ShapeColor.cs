namespace SpanAttention.Data.Captioning;

/// <summary>The colours of the <c>shapes</c> task; the caption word is the lower-case name.</summary>
internal enum ShapeColor
{
    /// <summary>(1, 0.1, 0.1).</summary>
    Red,

    /// <summary>(0.1, 0.8, 0.1).</summary>
    Green,

    /// <summary>(0.15, 0.3, 1).</summary>
    Blue,

    /// <summary>(1, 0.9, 0.1).</summary>
    Yellow,

    /// <summary>(0.1, 0.9, 0.9).</summary>
    Cyan,

    /// <summary>(0.9, 0.1, 0.9).</summary>
    Magenta,
}
