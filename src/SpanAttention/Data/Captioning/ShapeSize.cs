namespace SpanAttention.Data.Captioning;

/// <summary>The two sizes of the <c>shapes</c> task; the caption word is the lower-case name.</summary>
internal enum ShapeSize
{
    /// <summary>Half-size 0.22 of a grid cell (about 7 px across in a 48 px image).</summary>
    Small,

    /// <summary>Half-size 0.40 of a grid cell (about 13 px across in a 48 px image).</summary>
    Large,
}
