namespace SpanAttention.Data.Captioning;

/// <summary>
/// One captioning example: an image, its caption as tokens, and the box of every object the caption names, so
/// that grounding (how much attention falls on the object a word names) can be measured.
/// </summary>
/// <remarks>
/// <para>Pixels are float in [0, 1], planar <b>(C, H, W)</b> row-major (channel, row, column; PyTorch's image
/// layout): the value of channel c at row y, column x is <c>Pixels[(c * H + y) * W + x]</c>. Colour images
/// have C = 3 (R, G, B), grey ones C = 1.</para>
/// <para><see cref="TokenObjects"/> has one entry per token: the index into <see cref="Boxes"/> of the object
/// that token names, or -1 for a token that names no object (articles, relation and place words).</para>
/// </remarks>
internal sealed class ImageExample
{
    /// <summary>Creates an example, checking that the parts agree.</summary>
    /// <param name="channels">C, 1 or 3.</param>
    /// <param name="height">H, rows.</param>
    /// <param name="width">W, columns.</param>
    /// <param name="pixels">(C, H, W) values in [0, 1]; kept, not copied.</param>
    /// <param name="tokens">The caption.</param>
    /// <param name="boxes">One box per object, in the caption's object order.</param>
    /// <param name="tokenObjects">Per token: object index or -1.</param>
    /// <param name="key">Canonical description of the scene (equal keys = the same scene up to jitter).</param>
    /// <param name="objectSources">Optional per object: which source image drew it (digits: the row in the digit data).</param>
    public ImageExample(int channels, int height, int width, float[] pixels, string[] tokens, PixelBox[] boxes,
        int[] tokenObjects, string key, int[]? objectSources = null)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentNullException.ThrowIfNull(tokenObjects);
        ArgumentNullException.ThrowIfNull(key);
        if (channels is not (1 or 3))
        {
            throw new ArgumentOutOfRangeException(nameof(channels), $"channels must be 1 or 3, not {channels}.");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (pixels.Length != channels * height * width)
        {
            throw new ArgumentException($"pixels has {pixels.Length} values; (C, H, W) = ({channels}, {height}, {width}) needs {channels * height * width}.", nameof(pixels));
        }
        if (tokenObjects.Length != tokens.Length)
        {
            throw new ArgumentException($"tokenObjects has {tokenObjects.Length} entries for {tokens.Length} tokens.", nameof(tokenObjects));
        }
        foreach (int o in tokenObjects)
        {
            if (o < -1 || o >= boxes.Length)
            {
                throw new ArgumentException($"tokenObjects names object {o}; there are {boxes.Length}.", nameof(tokenObjects));
            }
        }
        foreach (PixelBox b in boxes)
        {
            if (b.X0 < 0 || b.Y0 < 0 || b.X1 > width || b.Y1 > height || b.Width < 1 || b.Height < 1)
            {
                throw new ArgumentException($"box {b} is empty or outside the {width}x{height} image.", nameof(boxes));
            }
        }
        if (objectSources is not null && objectSources.Length != boxes.Length)
        {
            throw new ArgumentException($"objectSources has {objectSources.Length} entries for {boxes.Length} objects.", nameof(objectSources));
        }
        Channels = channels;
        Height = height;
        Width = width;
        Pixels = pixels;
        Tokens = tokens;
        Boxes = boxes;
        TokenObjects = tokenObjects;
        Key = key;
        ObjectSources = objectSources;
    }

    /// <summary>C: 3 for RGB, 1 for grey.</summary>
    public int Channels { get; }

    /// <summary>H: rows.</summary>
    public int Height { get; }

    /// <summary>W: columns.</summary>
    public int Width { get; }

    /// <summary>(C, H, W) row-major, each value in [0, 1].</summary>
    public float[] Pixels { get; }

    /// <summary>The caption, one word per token.</summary>
    public string[] Tokens { get; }

    /// <summary>The caption as one line (tokens joined by single spaces).</summary>
    public string Caption => string.Join(' ', Tokens);

    /// <summary>The box of each object, in the order the caption names them.</summary>
    public PixelBox[] Boxes { get; }

    /// <summary>Per token: the index in <see cref="Boxes"/> of the object it names, or -1.</summary>
    public int[] TokenObjects { get; }

    /// <summary>Canonical scene key: two examples with the same key show the same scene up to position jitter.</summary>
    public string Key { get; }

    /// <summary>Per object: the source image it was drawn from (digits), or null (shapes).</summary>
    public int[]? ObjectSources { get; }

    /// <summary>The box of the object token <paramref name="t"/> names, or null when it names none.</summary>
    /// <param name="t">Token index.</param>
    /// <returns>The box or null.</returns>
    public PixelBox? BoxOfToken(int t) => TokenObjects[t] < 0 ? null : Boxes[TokenObjects[t]];
}
