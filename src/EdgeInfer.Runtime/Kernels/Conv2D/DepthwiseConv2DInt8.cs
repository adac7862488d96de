using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeInfer.Runtime.Kernels.Quantized;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// Int8 depthwise convolution (groups = Cin, output channel oc reads input channel oc / multiplier), computed
/// directly: acc[oc] = Σ over in-bounds taps of (x − zx)·w[oc, kh, kw], so padding contributes nothing and the bias
/// needs no folding. |x − zx| ≤ 255 and |w| ≤ 128, so each product fits int16 exactly.
/// <para>With multiplier 1 the vector paths run 16 channels at a time over weights repacked tap-major as int16
/// [KH·KW][C rounded up to 16]: AVX2 sign-extends x to int16, subtracts zx, multiplies (vpmullw, exact) and widens
/// into int32 accumulators; AdvSimd does the same with SMLAL/SMLAL2; other 128-bit targets use the portable
/// Vector128 operations. Channels past the last multiple of 16, and multipliers above 1, run the scalar loop.
/// Row kernels over a ring of converted input rows replace this per-pixel form where they apply: AVX2 for any kernel
/// (DepthwiseConv2DInt8.Rows.cs), arm64 up to 64 taps (DepthwiseConv2DInt8.RowsNeon.cs).</para>
/// </summary>
internal unsafe partial struct DepthwiseConv2DInt8
{
    private ConvGeometry _g;
    private KernelPath _path;
    private int _multiplier;
    private int _inputZero;
    private sbyte* _weights;
    private short[]? _packed;
    private int _paddedChannels;
    private Int8Requantizer _requantizer;

    // AVX2 row kernel (DepthwiseConv2DInt8.Rows.cs)
    private short[]? _pairWeights;  // [Cp/16][pair][32]: the L half then the H half
    private int _rowChannels;       // Cp
    private int _rowLength;         // int16 per ring row: (PadLeft + W + padRight)·Cp, rounded to 16
    private int _ringRows;          // (KH − 1)·DH + 1
    private int _pairs;

    // arm64 row kernel (DepthwiseConv2DInt8.RowsNeon.cs), same ring
    private short[]? _tapWeights;   // [Cp/16][KH·KW taps][16 channels]

    public static DepthwiseConv2DInt8 Create(ref KernelContext context, ConvGeometry g, sbyte* weights, int* bias, float inputScale, int inputZero,
        ReadOnlySpan<float> weightScales, float outputScale, int outputZero, ClampOptions clamp)
    {
        int cout = g.OutputChannels;
        var rawBias = new int[cout];
        for (int c = 0; c < cout; c++)
        {
            rawBias[c] = bias == null ? 0 : bias[c];
        }

        var d = new DepthwiseConv2DInt8
        {
            _g = g,
            _path = context.Path,
            _multiplier = cout / g.InputChannels,
            _inputZero = inputZero,
            _weights = weights,
            _requantizer = Int8Requantizer.Create(ref context, rawBias, inputScale, weightScales, outputScale, outputZero, clamp,
                (long)g.KernelHeight * g.KernelWidth * 255 * 128),
        };
        if (UseRows(g, d._path, d._multiplier))
        {
            d.PrepareRows(ref context, weights);
        }
        else if (UseRowsNeon(g, d._path, d._multiplier))
        {
            d.PrepareRowsNeon(ref context, weights);
        }
        else if (d._multiplier == 1 && d._path != KernelPath.Scalar && cout >= 16)
        {
            int taps = g.KernelHeight * g.KernelWidth;
            d._paddedChannels = Int8Requantizer.Padded(cout);
            d._packed = context.AllocatePersistent<short>(taps * d._paddedChannels);
            for (int c = 0; c < cout; c++)
            {
                for (int t = 0; t < taps; t++)
                {
                    d._packed[t * d._paddedChannels + c] = weights[c * taps + t];
                }
            }
        }

        return d;
    }

    public readonly void Run(sbyte* x, sbyte* y, Span<byte> scratch)
    {
        if (_pairWeights != null)
        {
            RunRows(x, y, scratch);
            return;
        }

        if (_tapWeights != null)
        {
            RunRowsNeon(x, y, scratch);
            return;
        }

        ref readonly ConvGeometry g = ref _g;
        int cout = g.OutputChannels;
        int vectorEnd = _packed == null ? 0 : cout & ~15;
        for (int b = 0; b < g.Batch; b++)
        {
            sbyte* xb = x + (long)b * g.Height * g.Width * g.InputChannels;
            for (int oh = 0; oh < g.OutputHeight; oh++)
            {
                for (int ow = 0; ow < g.OutputWidth; ow++)
                {
                    sbyte* yp = y + (((long)b * g.OutputHeight + oh) * g.OutputWidth + ow) * cout;
                    int ih0 = oh * g.StrideH - g.PadTop;
                    int iw0 = ow * g.StrideW - g.PadLeft;
                    if (vectorEnd > 0)
                    {
                        if (KernelPaths.UsesAvx2(_path))
                        {
                            PixelAvx2(xb, ih0, iw0, yp, vectorEnd);
                        }
                        else
                        {
                            PixelVector128(xb, ih0, iw0, yp, vectorEnd);
                        }
                    }

                    PixelScalar(xb, ih0, iw0, yp, vectorEnd);
                }
            }
        }
    }

    private readonly void PixelScalar(sbyte* xb, int ih0, int iw0, sbyte* yp, int from)
    {
        ref readonly ConvGeometry g = ref _g;
        int taps = g.KernelHeight * g.KernelWidth;
        for (int oc = from; oc < g.OutputChannels; oc++)
        {
            int ic = oc / _multiplier;
            int acc = 0;
            for (int kh = 0; kh < g.KernelHeight; kh++)
            {
                int ih = ih0 + kh * g.DilationH;
                if ((uint)ih >= (uint)g.Height)
                {
                    continue;
                }

                for (int kw = 0; kw < g.KernelWidth; kw++)
                {
                    int iw = iw0 + kw * g.DilationW;
                    if ((uint)iw >= (uint)g.Width)
                    {
                        continue;
                    }

                    int xv = xb[((long)ih * g.Width + iw) * g.InputChannels + ic] - _inputZero;
                    acc += xv * _weights[oc * taps + kh * g.KernelWidth + kw];
                }
            }

            yp[oc] = _requantizer.Scalar(acc, oc);
        }
    }

    private readonly void PixelAvx2(sbyte* xb, int ih0, int iw0, sbyte* yp, int end)
    {
        ref readonly ConvGeometry g = ref _g;
        Vector256<short> zero = Vector256.Create((short)_inputZero);
        fixed (short* packed = _packed)
        {
            for (int c0 = 0; c0 < end; c0 += 16)
            {
                Vector256<int> acc0 = Vector256<int>.Zero, acc1 = Vector256<int>.Zero;
                for (int kh = 0; kh < g.KernelHeight; kh++)
                {
                    int ih = ih0 + kh * g.DilationH;
                    if ((uint)ih >= (uint)g.Height)
                    {
                        continue;
                    }

                    sbyte* row = xb + (long)ih * g.Width * g.InputChannels + c0;
                    short* wrow = packed + kh * g.KernelWidth * _paddedChannels + c0;
                    for (int kw = 0; kw < g.KernelWidth; kw++)
                    {
                        int iw = iw0 + kw * g.DilationW;
                        if ((uint)iw >= (uint)g.Width)
                        {
                            continue;
                        }

                        Vector256<short> xv = Avx2.Subtract(Avx2.ConvertToVector256Int16(row + (long)iw * g.InputChannels), zero);
                        Vector256<short> p = Avx2.MultiplyLow(xv, Avx.LoadVector256(wrow + kw * _paddedChannels));
                        acc0 = Avx2.Add(acc0, Avx2.ConvertToVector256Int32(p.GetLower()));
                        acc1 = Avx2.Add(acc1, Avx2.ConvertToVector256Int32(p.GetUpper()));
                    }
                }

                if (_requantizer.Folded)
                {
                    // The folded requantization takes doubled accumulators; vpmullw's int16 products leave no room
                    // to double the weights here.
                    acc0 += acc0;
                    acc1 += acc1;
                }

                _requantizer.Avx2x16(acc0, acc1, c0).Store(yp + c0);
            }
        }
    }

    private readonly void PixelVector128(sbyte* xb, int ih0, int iw0, sbyte* yp, int end)
    {
        ref readonly ConvGeometry g = ref _g;
        Vector128<short> zero = Vector128.Create((short)_inputZero);
        fixed (short* packed = _packed)
        {
            for (int c0 = 0; c0 < end; c0 += 16)
            {
                Vector128<int> a0 = Vector128<int>.Zero, a1 = Vector128<int>.Zero, a2 = Vector128<int>.Zero, a3 = Vector128<int>.Zero;
                for (int kh = 0; kh < g.KernelHeight; kh++)
                {
                    int ih = ih0 + kh * g.DilationH;
                    if ((uint)ih >= (uint)g.Height)
                    {
                        continue;
                    }

                    sbyte* row = xb + (long)ih * g.Width * g.InputChannels + c0;
                    short* wrow = packed + kh * g.KernelWidth * _paddedChannels + c0;
                    for (int kw = 0; kw < g.KernelWidth; kw++)
                    {
                        int iw = iw0 + kw * g.DilationW;
                        if ((uint)iw >= (uint)g.Width)
                        {
                            continue;
                        }

                        Vector128<sbyte> xs = Vector128.Load(row + (long)iw * g.InputChannels);
                        short* w = wrow + kw * _paddedChannels;
                        Vector128<short> w0 = Vector128.Load(w);
                        Vector128<short> w1 = Vector128.Load(w + 8);
                        if (AdvSimd.IsSupported)
                        {
                            Vector128<short> x0 = AdvSimd.SignExtendWideningLower(xs.GetLower()) - zero;
                            Vector128<short> x1 = AdvSimd.SignExtendWideningUpper(xs) - zero;
                            a0 = AdvSimd.MultiplyWideningLowerAndAdd(a0, x0.GetLower(), w0.GetLower());
                            a1 = AdvSimd.MultiplyWideningUpperAndAdd(a1, x0, w0);
                            a2 = AdvSimd.MultiplyWideningLowerAndAdd(a2, x1.GetLower(), w1.GetLower());
                            a3 = AdvSimd.MultiplyWideningUpperAndAdd(a3, x1, w1);
                        }
                        else
                        {
                            (Vector128<short> x0, Vector128<short> x1) = Vector128.Widen(xs);
                            Vector128<short> p0 = (x0 - zero) * w0;
                            Vector128<short> p1 = (x1 - zero) * w1;
                            (Vector128<int> p00, Vector128<int> p01) = Vector128.Widen(p0);
                            (Vector128<int> p10, Vector128<int> p11) = Vector128.Widen(p1);
                            a0 += p00;
                            a1 += p01;
                            a2 += p10;
                            a3 += p11;
                        }
                    }
                }

                _requantizer.V128x16(a0, a1, a2, a3, c0).Store(yp + c0);
            }
        }
    }
}
