using EdgeInfer.Format;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Int8;

public class Conv2DInt8Tests
{
    // batch, H, W, Cin, Cout, KH, KW, stride, dilation, pad, groups
    public static TheoryData<int[]> Geometries => new()
    {
        new[] { 1, 5, 5, 3, 4, 3, 3, 1, 1, 1, 1 },      // 3×3 same padding
        new[] { 2, 7, 6, 5, 7, 3, 2, 2, 1, 1, 1 },      // odd everything, stride 2
        new[] { 1, 9, 9, 4, 6, 3, 3, 1, 2, 2, 1 },      // dilation 2
        new[] { 1, 6, 6, 8, 16, 1, 1, 1, 1, 0, 1 },     // pointwise
        new[] { 1, 5, 7, 19, 21, 1, 1, 1, 1, 0, 1 },    // pointwise with tails
        new[] { 1, 6, 6, 6, 9, 3, 3, 1, 1, 1, 3 },      // grouped
        new[] { 1, 8, 8, 16, 16, 3, 3, 1, 1, 1, 16 },   // depthwise
        new[] { 1, 9, 7, 35, 35, 3, 3, 2, 1, 1, 35 },   // depthwise, stride 2, channel tail
        new[] { 2, 6, 5, 4, 8, 3, 3, 1, 1, 1, 4 },      // depthwise multiplier 2
        new[] { 1, 7, 7, 32, 32, 5, 5, 1, 2, 4, 32 },   // depthwise 5×5 dilated
        new[] { 1, 4, 4, 3, 5, 1, 1, 2, 1, 0, 1 },      // 1×1 stride 2 (im2col)
        new[] { 1, 12, 12, 3, 16, 3, 3, 2, 1, 1, 1 },   // MobileNet stem shape, small
        // Im2col into int16 strips (AVX2): runs shorter and longer than 16 bytes, dilation, stride, padding, big N.
        new[] { 1, 8, 8, 1, 8, 3, 3, 1, 1, 1, 1 },      // digits conv1 (Cin 1, N 8)
        new[] { 1, 4, 4, 16, 16, 3, 3, 1, 1, 1, 1 },    // digits conv3
        new[] { 1, 6, 7, 20, 5, 3, 3, 1, 2, 1, 1 },     // dilation 2, Cin 20 (runs of 20)
        new[] { 2, 5, 5, 2, 3, 5, 5, 1, 1, 0, 1 },      // kernel covers the image, batch 2
        new[] { 1, 9, 8, 3, 40, 3, 3, 2, 1, 1, 1 },     // stem-like, N 40 (panels 16+16+8)
        new[] { 1, 7, 7, 5, 17, 2, 2, 3, 1, 2, 1 },     // stride 3, wide padding, N 17
        // Depthwise row kernel (AVX2): channel counts below, at and around 16, odd taps, padding, strides, dilation.
        new[] { 1, 6, 5, 2, 2, 3, 3, 1, 1, 1, 2 },      // two channels
        new[] { 1, 5, 6, 15, 15, 3, 3, 1, 1, 1, 15 },   // one short of a block
        new[] { 2, 7, 9, 17, 17, 3, 3, 1, 1, 0, 17 },   // one past a block, no padding, batch 2
        new[] { 1, 10, 11, 48, 48, 3, 3, 2, 1, 1, 48 }, // MobileNet stride-2 shape
        new[] { 1, 9, 9, 16, 16, 3, 3, 2, 1, 0, 16 },   // stride 2, no padding
        new[] { 1, 8, 7, 24, 24, 5, 5, 1, 1, 2, 24 },   // 5×5 (odd tap count 25)
        new[] { 1, 11, 10, 33, 33, 3, 3, 1, 3, 3, 33 }, // dilation 3
        new[] { 1, 4, 5, 40, 40, 1, 1, 1, 1, 0, 40 },   // 1×1 depthwise (one tap, paired with zero)
        new[] { 1, 3, 3, 7, 7, 3, 3, 1, 1, 2, 7 },      // padding wider than the kernel reach
        new[] { 1, 2, 9, 64, 64, 2, 4, 3, 1, 1, 64 },   // rectangular kernel, stride 3
        new[] { 1, 10, 9, 20, 20, 9, 9, 1, 1, 4, 20 },  // 9×9 depthwise: 81 taps, past the row kernel (per-pixel AVX2)
        // 3×3 depthwise in 32-channel blocks (Avx512, ReLU forms): whole blocks, a 16-channel tail, odd widths.
        new[] { 1, 6, 7, 64, 64, 3, 3, 1, 1, 1, 64 },   // two blocks, odd width (a last single pixel)
        new[] { 1, 7, 5, 96, 96, 3, 3, 2, 1, 1, 96 },   // three blocks, stride 2
        new[] { 2, 5, 8, 144, 144, 3, 3, 1, 1, 1, 144 },// four blocks and a 16-channel tail, batch 2
        new[] { 1, 9, 9, 32, 32, 3, 3, 1, 2, 2, 32 },   // one block, dilation 2
        new[] { 2, 5, 7, 16, 16, 3, 3, 1, 1, 1, 16 },   // 16 channels, stride 1: four pixels per step, three left
        new[] { 1, 9, 10, 16, 16, 3, 3, 1, 2, 2, 16 },  // the same with dilation 2, two left
        // Chunked AVX2 GEMM calls (up to 64 rows widened per call): several chunks, last chunks of 1, 2, 3 and 4 rows.
        new[] { 1, 13, 11, 8, 48, 1, 1, 1, 1, 0, 1 },   // pointwise, 143 rows = 64 + 64 + 15
        new[] { 1, 3, 43, 5, 20, 1, 1, 1, 1, 0, 1 },    // pointwise, 129 rows: a last chunk of one row
        new[] { 1, 11, 12, 6, 9, 1, 1, 1, 1, 0, 1 },    // pointwise, 132 rows, an 8-wide panel plus a tail
        new[] { 1, 3, 5, 512, 300, 1, 1, 1, 1, 0, 1 },  // pointwise, packed weights over the L2 block: two blocks
        new[] { 1, 13, 10, 1, 8, 3, 3, 1, 1, 1, 1 },    // strips, 130 pixels = 64 + 64 + 2
        new[] { 1, 15, 13, 2, 16, 3, 3, 1, 1, 1, 1 },   // strips, 195 pixels: last chunk of 3
        new[] { 1, 5, 13, 3, 24, 3, 3, 1, 1, 1, 1 },    // strips, 65 pixels: last chunk of one row
        // One to three output pixels (the sparse kernel's products, when the weights are stored sparse).
        new[] { 1, 1, 1, 40, 24, 1, 1, 1, 1, 0, 1 },    // pointwise on one pixel (squeeze-and-excitation)
        new[] { 1, 1, 3, 72, 17, 1, 1, 1, 1, 0, 1 },    // pointwise on three pixels, K past a block
        new[] { 1, 3, 3, 20, 33, 3, 3, 1, 1, 0, 1 },    // 3×3 valid on 3×3: one im2col row of 180
        new[] { 2, 2, 2, 5, 16, 2, 2, 1, 1, 0, 1 },     // batch 2, one pixel each: one im2col row per image
        new[] { 1, 3, 4, 6, 12, 3, 2, 1, 1, 0, 1 },     // 1×3 output: three im2col rows of 36
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Invoke_Int8_MatchesTfliteReference(int[] geometry)
    {
        foreach (bool perChannel in new[] { false, true })
        {
            foreach (ClampOptions clamp in new[] { ClampOptions.None, new ClampOptions(0, 6) })
            {
                var c = new ConvCase(geometry, perChannel, clamp, seed: geometry.Sum() + (perChannel ? 1 : 0));
                sbyte[] y = KernelRunner.RunInt8(OpCode.Conv2D, c.Options, c.Inputs, c.Output);
                Assert.Equal(c.Reference(), y);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Invoke_EveryPath_GivesIdenticalBytes(int[] geometry)
    {
        var c = new ConvCase(geometry, perChannel: true, ClampOptions.Relu, seed: 77 + geometry.Sum());
        byte[] bytes = KernelRunner.RunEveryPath(OpCode.Conv2D, c.Options, c.Inputs, c.Output);
        Assert.Equal(c.Reference(), System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(bytes).ToArray());
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Invoke_EveryPath_SparseWeights_MatchReference(int[] geometry)
    {
        // Convolutions with 60 % of their 16-wide weight blocks zero and stored sparse: on fewer than four output
        // pixels the pointwise and im2col routes go through the sparse product, otherwise (and for grouped ones) the
        // blocks are expanded for the dense strategies; either way the reference's bytes.
        var c = new ConvCase(geometry, perChannel: true, ClampOptions.Relu, seed: 91 + geometry.Sum(), zeroFraction: 0.6);
        byte[] bytes = KernelRunner.RunEveryPath(OpCode.Conv2D, c.Options, c.Inputs, c.Output);
        Assert.Equal(c.Reference(), System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(bytes).ToArray());
    }

    [Fact]
    public void Prepare_RejectsMalformedNodes()
    {
        var c = new ConvCase([1, 5, 5, 3, 4, 3, 3, 1, 1, 1, 1], true, ClampOptions.None, 1);
        TestTensor?[] ok = c.Inputs;
        Reject(c.Options, [ok[0]! with { Quantization = null }, ok[1], ok[2]], c.Output);
        Reject(c.Options, [ok[0], ok[1]! with { IsConstant = false }, ok[2]], c.Output);
        Reject(c.Options, ok, TestTensor.Int8Output([1, 4, 4, 4], 0.1f, 0));                               // wrong output shape
        Reject(c.Options with { Groups = 2 }, ok, c.Output);                                                // groups do not divide
        Reject(c.Options, [ok[0], ok[1], TestTensor.Int32Const([3], [1, 2, 3])], c.Output);                // bias length
        Reject(c.Options, ok, TestTensor.Output([1, 5, 5, 4]));                                            // float output
        Reject(c.Options with { Clamp = new ClampOptions(100, 200) }, ok, c.Output);                       // clamp above the int8 range
    }

    private static void Reject(Conv2DOptions options, TestTensor?[] inputs, TestTensor output)
        => Assert.Throws<EdgeInferModelException>(() => KernelRunner.RunInt8(OpCode.Conv2D, options, inputs, output));

    private sealed class ConvCase
    {
        private readonly int _n, _h, _w, _cin, _cout, _kh, _kw, _s, _d, _p, _groups, _ho, _wo, _zx, _zy;
        private readonly sbyte[] _x, _wt;
        private readonly int[] _bias;
        private readonly float[] _ws;
        private readonly float _sx, _sy;
        private readonly ClampOptions _clamp;

        private readonly bool _sparse;

        public ConvCase(int[] g, bool perChannel, ClampOptions clamp, int seed, double zeroFraction = -1)
        {
            (_n, _h, _w, _cin, _cout, _kh, _kw, _s, _d, _p, _groups) = (g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10]);
            _ho = (_h + 2 * _p - _d * (_kh - 1) - 1) / _s + 1;
            _wo = (_w + 2 * _p - _d * (_kw - 1) - 1) / _s + 1;
            var rng = new Random(seed);
            _x = Int8Data.Random(rng, _n * _h * _w * _cin);
            _wt = Int8Data.Random(rng, _cout * _kh * _kw * (_cin / _groups), -127, 127);
            if (zeroFraction >= 0)
            {
                _wt = SparseFullyConnectedInt8Tests.PrunedWeights(rng, _cout, _kh * _kw * (_cin / _groups), zeroFraction);
                _sparse = true;
            }

            _bias = Int8Data.RandomInts(rng, _cout, -3000, 3000);
            _ws = Int8Data.Scales(rng, perChannel ? _cout : 1, 0.002f, 0.03f);
            (_sx, _zx, _sy, _zy) = (0.04f, rng.Next(-128, 128), 0.15f, rng.Next(-20, 20));
            _clamp = clamp;
        }

        public Conv2DOptions Options => new(_s, _s, _d, _d, _p, _p, _p, _p, _groups, _clamp);

        public TestTensor?[] Inputs =>
        [
            TestTensor.Int8([_n, _h, _w, _cin], _x, _sx, _zx),
            TestTensor.Int8Weights([_cout, _kh, _kw, _cin / _groups], _wt, _ws) with { SparseBlockWidth = _sparse ? 16 : 0 },
            TestTensor.Int32Const([_cout], _bias),
        ];

        public TestTensor Output => TestTensor.Int8Output([_n, _ho, _wo, _cout], _sy, _zy);

        public sbyte[] Reference()
        {
            int cg = _cin / _groups, ng = _cout / _groups;
            (int lo, int hi) = TfliteReference.ActivationRange(_clamp.Min, _clamp.Max, _sy, _zy);
            var y = new sbyte[_n * _ho * _wo * _cout];
            for (int b = 0; b < _n; b++)
            for (int oh = 0; oh < _ho; oh++)
            for (int ow = 0; ow < _wo; ow++)
            for (int oc = 0; oc < _cout; oc++)
            {
                int group = oc / ng;
                int acc = _bias[oc];
                for (int kh = 0; kh < _kh; kh++)
                for (int kw = 0; kw < _kw; kw++)
                for (int ci = 0; ci < cg; ci++)
                {
                    int ih = oh * _s - _p + kh * _d, iw = ow * _s - _p + kw * _d;
                    if (ih < 0 || ih >= _h || iw < 0 || iw >= _w)
                    {
                        continue; // padding is zx: (zx − zx)·w = 0
                    }

                    int xv = _x[((b * _h + ih) * _w + iw) * _cin + group * cg + ci];
                    acc += (xv - _zx) * _wt[((oc * _kh + kh) * _kw + kw) * cg + ci];
                }

                double real = (double)_sx * _ws[_ws.Length == 1 ? 0 : oc] / _sy;
                y[((b * _ho + oh) * _wo + ow) * _cout + oc] = (sbyte)TfliteReference.Requantize(acc, real, _zy, lo, hi);
            }

            return y;
        }
    }
}
