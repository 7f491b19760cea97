using System.Numerics.Tensors;
using SpanAttention.Kernels;
using SpanAttention.Parameters;
using SpanAttention.Vision;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// The image encoder of Show, Attend and Tell, small and trained end to end: a few conv blocks turn (C, H, W) pixels
/// into a feature map, adaptive average pooling fixes it to a gh x gw grid, and its L = gh·gw positions of D features
/// (D = the last block's channels) are the memory the decoder attends over. The decoder's initial state comes from the
/// mean position through the <see cref="MeanBridge"/>. Each grid position adds a learned position embedding (as ViT and
/// DETR do): a conv net is translation-equivariant, so without it a position's features say what is there but not
/// where, and captions that name places ("at top left", digits left to right) need the where in the attended context.
/// </summary>
/// <remarks>
/// <para>Parameters (PyTorch names and shapes, in state_dict order): <c>encoder.position</c> (L, D),
/// <c>encoder.conv.{k}.weight</c> (C_k, C_{k-1}, 3, 3) and <c>encoder.conv.{k}.bias</c> (C_k) for each block k
/// (C_{-1} = C, the image's channels), <c>bridge.weight</c> (H, D), <c>bridge.bias</c> (H).</para>
/// <para>Forward, H_0 x W_0 = the image, H_{k+1} = floor(H_k / 2):
/// (0) x_0 = (pixels - mean_c) / std_c (B, C, H_0, W_0);
/// (1) per block k: a_k = relu(conv3x3_pad1(x_k) + bias_k) (B, C_k, H_k, W_k), x_{k+1} = maxpool2x2(a_k) (B, C_k, H_{k+1}, W_{k+1});
/// (2) g = adaptive_avg_pool(x_K, (gh, gw)) (B, D, gh, gw);
/// (3) states[b, l, d] = g[b, d, l] + position[l, d] (B, L, D), every position valid (NCHW reordered to positions by features);
/// (4) h_0 = tanh(W mean_l states[b, l] + b) (B, H).</para>
/// <para>Backward walks (4) to (1) in reverse: d(states) (the decoder's plus the bridge's) is reordered to d(g), pooled
/// back, routed through each max pool's argmax, masked by relu' (a_k &gt; 0) and through each conv, accumulating the
/// conv weight and bias gradients. No gradient goes to the pixels (they are data).</para>
/// </remarks>
internal sealed class ImageEncoder : IEncoder
{
    private readonly MeanBridge _bridge;
    private readonly Conv2d[] _convs;
    private readonly ParameterSlot[] _weights, _biases;
    private readonly ParameterSlot _position;  // (L, D)
    private readonly int _c, _height, _width, _gh, _gw, _d, _blocks;
    private readonly int[] _channels;          // C_k, k = 0..K-1
    private readonly int[] _h, _w;             // H_k, W_k, k = 0..K (K = the last pooled map)
    private readonly float[] _mean, _invStd;   // (C) normalisation
    private readonly float[][] _x;             // x_k (B, C_{k-1}, H_k, W_k), k = 0..K
    private readonly float[][] _dx;            // d x_k, k = 1..K (index 0 unused: no gradient to the pixels)
    private readonly float[][] _a, _da;        // a_k and d a_k (B, C_k, H_k, W_k)
    private readonly int[][] _argmax;          // max-pool argmax of block k (B, C_k, H_{k+1}, W_{k+1})
    private float[] _grid = [], _dGrid = [];   // g and d g (B, D, L)
    private int[] _lengths = [];               // (B) all L
    private int _maxBatch;

    /// <summary>Registers the conv blocks and the bridge in <paramref name="layout"/> and sizes the workspaces.</summary>
    public ImageEncoder(Seq2SeqConfig config, ParameterLayout layout, int maxBatch)
    {
        _c = config.ImageChannels;
        _height = config.ImageHeight;
        _width = config.ImageWidth;
        _gh = config.GridHeight;
        _gw = config.GridWidth;
        _channels = [.. config.ConvChannels];
        _blocks = _channels.Length;
        _d = _channels[^1];
        _h = new int[_blocks + 1];
        _w = new int[_blocks + 1];
        _h[0] = _height;
        _w[0] = _width;
        _convs = new Conv2d[_blocks];
        _position = layout.Add("encoder.position", _gh * _gw, _d);          // first, as in PyTorch's state_dict (parameters before submodules)
        _weights = new ParameterSlot[_blocks];
        _biases = new ParameterSlot[_blocks];
        for (int k = 0; k < _blocks; k++)
        {
            int cIn = k == 0 ? _c : _channels[k - 1];
            _weights[k] = layout.Add($"encoder.conv.{k}.weight", _channels[k], cIn, 3, 3);
            _biases[k] = layout.Add($"encoder.conv.{k}.bias", _channels[k]);
            _convs[k] = new Conv2d(new Conv2dGeometry(cIn, _channels[k], kernelSize: 3, stride: 1, padding: 1), _h[k], _w[k]);
            _h[k + 1] = MaxPool2d.OutputSize(_h[k]);
            _w[k + 1] = MaxPool2d.OutputSize(_w[k]);
        }
        _bridge = new MeanBridge(layout, _d, config.HiddenSize);
        _mean = new float[_c];
        _invStd = new float[_c];
        for (int c = 0; c < _c; c++)
        {
            _mean[c] = config.PixelMean.Count > 0 ? config.PixelMean[c] : 0f;
            _invStd[c] = config.PixelStd.Count > 0 ? 1f / config.PixelStd[c] : 1f;
        }
        _x = new float[_blocks + 1][];
        _dx = new float[_blocks + 1][];
        _a = new float[_blocks][];
        _da = new float[_blocks][];
        _argmax = new int[_blocks][];
        EnsureCapacity(maxBatch, Positions);
    }

    /// <inheritdoc/>
    public int Size => _d;

    /// <summary>L = gh·gw: memory positions per image.</summary>
    public int Positions => _gh * _gw;

    /// <summary>
    /// PyTorch's defaults: each conv's weight and bias ~ U(-1/sqrt(C_in·9), 1/sqrt(C_in·9)); the bridge as nn.Linear;
    /// position embeddings ~ U(-0.1, 0.1), small beside the pooled features.
    /// </summary>
    public void Initialize(ParameterSet parameters, Random random)
    {
        for (int k = 0; k < _blocks; k++)
        {
            float bound = 1f / MathF.Sqrt(_convs[k].Geometry.PatchSize);
            parameters.InitializeUniform(_weights[k], bound, random);
            parameters.InitializeUniform(_biases[k], bound, random);
        }
        parameters.InitializeUniform(_position, 0.1f, random);
        _bridge.Initialize(parameters, random);
    }

    /// <inheritdoc/>
    public void EnsureCapacity(int maxBatch, int maxSource)
    {
        _bridge.EnsureCapacity(maxBatch);
        if (maxBatch <= _maxBatch)
        {
            return;
        }
        int b = _maxBatch = maxBatch;
        _x[0] = new float[b * _c * _h[0] * _w[0]];
        for (int k = 0; k < _blocks; k++)
        {
            int map = _channels[k] * _h[k] * _w[k], pooled = _channels[k] * _h[k + 1] * _w[k + 1];
            _a[k] = new float[b * map];
            _da[k] = new float[b * map];
            _x[k + 1] = new float[b * pooled];
            _dx[k + 1] = new float[b * pooled];
            _argmax[k] = new int[b * pooled];
        }
        _grid = new float[b * _d * Positions];
        _dGrid = new float[b * _d * Positions];
        _lengths = new int[b];
        Array.Fill(_lengths, Positions);
    }

    /// <inheritdoc/>
    public void Forward(ParameterSet parameters, SourceInput source, EncoderPass pass, EncoderMemory memory)
    {
        int bsz = source.Batch, l = Positions, d = _d;
        Check(source);
        memory.SetShape(bsz, l, _lengths);
        ReadOnlySpan<float> values = parameters.Values;

        // (0) x_0 = (pixels - mean_c) / std_c: (B, C, H, W)
        int plane = _height * _width;
        ReadOnlySpan<float> pixels = source.Pixels;
        Span<float> x0 = _x[0];
        for (int b = 0; b < bsz; b++)
        {
            for (int c = 0; c < _c; c++)
            {
                int at = (b * _c + c) * plane;
                TensorPrimitives.Subtract(pixels.Slice(at, plane), _mean[c], x0.Slice(at, plane));
                TensorPrimitives.Multiply(x0.Slice(at, plane), _invStd[c], x0.Slice(at, plane));
            }
        }

        // (1) per block: a_k = relu(conv(x_k) + bias) (B, C_k, H_k, W_k); x_{k+1} = maxpool(a_k) (B, C_k, H_k/2, W_k/2)
        for (int k = 0; k < _blocks; k++)
        {
            int cIn = k == 0 ? _c : _channels[k - 1];
            Span<float> a = _a[k].AsSpan(0, bsz * _channels[k] * _h[k] * _w[k]);
            _convs[k].Forward(_x[k].AsSpan(0, bsz * cIn * _h[k] * _w[k]), bsz, _h[k], _w[k], _weights[k].Of(values), _biases[k].Of(values), a);
            TensorPrimitives.Max(a, 0f, a);
            int pooled = bsz * _channels[k] * _h[k + 1] * _w[k + 1];
            MaxPool2d.Forward(a, bsz * _channels[k], _h[k], _w[k], _x[k + 1].AsSpan(0, pooled), _argmax[k].AsSpan(0, pooled));
        }

        // (2) g = adaptive_avg_pool(x_K): (B, D, gh, gw)
        Span<float> grid = _grid.AsSpan(0, bsz * d * l);
        AdaptiveAvgPool2d.Forward(_x[_blocks].AsSpan(0, bsz * d * _h[_blocks] * _w[_blocks]), bsz * d, _h[_blocks], _w[_blocks], _gh, _gw, grid);

        // (3) states[b, l, d] = g[b, d, l] + position[l, d]: (B, L, D)
        Span<float> states = memory.States;
        ReadOnlySpan<float> position = _position.Of(values);
        for (int b = 0; b < bsz; b++)
        {
            Span<float> sb = states.Slice(b * l * d, l * d);
            Transpose(grid.Slice(b * d * l, d * l), d, l, sb);
            TensorPrimitives.Add(sb, position, sb);
        }

        // (4) h_0 = tanh(W mean(states) + b): (B, H)
        _bridge.Forward(states, _lengths, bsz, l, values, memory.InitialState);
    }

    /// <inheritdoc/>
    public void Backward(ParameterSet parameters, SourceInput source, EncoderMemory memory, bool applyDropoutMasks)
    {
        int bsz = source.Batch, l = Positions, d = _d;
        ReadOnlySpan<float> values = parameters.Values;
        Span<float> gradients = parameters.Gradients;

        // (4) h_0 = tanh(W mean(states) + b): the bridge adds its d(states) to the decoder's
        Span<float> dStates = memory.DStates;
        _bridge.Backward(memory.DInitialState, memory.InitialState, _lengths, bsz, l, values, gradients, dStates);

        // (3) states[b, l, d] = g[b, d, l] + position[l, d]  =>  dg[b, d, l] = dstates[b, l, d], dposition += Σ_b dstates[b]
        Span<float> dGrid = _dGrid.AsSpan(0, bsz * d * l);
        Span<float> dPosition = _position.Of(gradients);
        for (int b = 0; b < bsz; b++)
        {
            ReadOnlySpan<float> db = dStates.Slice(b * l * d, l * d);
            Transpose(db, l, d, dGrid.Slice(b * d * l, d * l));
            TensorPrimitives.Add(dPosition, db, dPosition);
        }

        // (2) g = adaptive_avg_pool(x_K)  =>  dx_K = pool back(dg)
        int last = bsz * d * _h[_blocks] * _w[_blocks];
        Span<float> dxLast = _dx[_blocks].AsSpan(0, last);
        dxLast.Clear();
        AdaptiveAvgPool2d.Backward(dGrid, bsz * d, _h[_blocks], _w[_blocks], _gh, _gw, dxLast);

        // (1) in reverse: x_{k+1} = maxpool(a_k), a_k = relu(z_k), z_k = conv(x_k) + bias
        for (int k = _blocks - 1; k >= 0; k--)
        {
            int cIn = k == 0 ? _c : _channels[k - 1], map = bsz * _channels[k] * _h[k] * _w[k], pooled = bsz * _channels[k] * _h[k + 1] * _w[k + 1];
            Span<float> da = _da[k].AsSpan(0, map);
            da.Clear();
            MaxPool2d.Backward(_dx[k + 1].AsSpan(0, pooled), _argmax[k].AsSpan(0, pooled), bsz * _channels[k], _h[k], _w[k], da);
            ReadOnlySpan<float> a = _a[k].AsSpan(0, map);
            for (int i = 0; i < map; i++)
            {
                if (a[i] <= 0f)
                {
                    da[i] = 0f;                                                                       // relu'(z) = 1 where a = z > 0
                }
            }
            Span<float> dxk = default;                                                                // block 0: no gradient to the pixels
            if (k > 0)
            {
                dxk = _dx[k].AsSpan(0, bsz * cIn * _h[k] * _w[k]);
                dxk.Clear();
            }
            _convs[k].Backward(da, _x[k].AsSpan(0, bsz * cIn * _h[k] * _w[k]), bsz, _h[k], _w[k], _weights[k].Of(values),
                dxk, _weights[k].Of(gradients), _biases[k].Of(gradients));
        }
    }

    /// <summary>The decoding forward: the training forward (the convs read their weights in place).</summary>
    public void ForwardPrepared(InferenceWeights weights, ParameterSet parameters, SourceInput source, EncoderMemory memory) =>
        Forward(parameters, source, EncoderPass.Plain, memory);

    /// <summary>Refuses a source that is not a batch of this encoder's image size, naming what differs.</summary>
    private void Check(SourceInput source)
    {
        if (!source.IsImages)
        {
            throw new ArgumentException($"This model's encoder reads images ({_c} x {_height} x {_width}, C x H x W), not {(source.IsFeatures ? "a feature grid" : "token ids")}.", nameof(source));
        }
        if (source.Channels != _c || source.Height != _height || source.Width != _width)
        {
            throw new ArgumentException($"The images are {source.Channels} x {source.Height} x {source.Width} (C x H x W); this model's encoder reads {_c} x {_height} x {_width}.", nameof(source));
        }
        if (source.Steps != Positions)
        {
            throw new ArgumentException($"An image gives S = {Positions} memory positions (a {_gh} x {_gw} grid), got S = {source.Steps}.", nameof(source));
        }
        int bsz = source.Batch;
        if (bsz > _maxBatch)
        {
            throw new ArgumentException($"The batch of {bsz} images exceeds the encoder's capacity of {_maxBatch}.", nameof(source));
        }
        Guard.Length(source.Pixels.Length, bsz * _c * _height * _width, nameof(source));
    }

    /// <summary>dst (cols, rows) = srcᵀ for src (rows, cols).</summary>
    private static void Transpose(ReadOnlySpan<float> src, int rows, int cols, Span<float> dst)
    {
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> row = src.Slice(r * cols, cols);
            for (int c = 0; c < cols; c++)
            {
                dst[c * rows + r] = row[c];
            }
        }
    }
}
