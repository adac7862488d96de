using EdgeInfer.Converter.Importers.TfLite;
using Tfl = EdgeInfer.Converter.Importers.TfLite.Schema;
using EdgeInfer.Converter.Tests.Support;
using EdgeInfer.Format;
using EdgeInfer.Runtime;
using Google.FlatBuffers;

namespace EdgeInfer.Converter.Tests;

/// <summary>
/// Each TFLite operator the importer maps, in a one-operator float model written with the flatc builders, run by the
/// runtime and compared with a direct computation from TFLite's definition (NHWC, TFLite's weight layouts, SAME
/// padding with the odd pixel after). The int8 arithmetic is checked separately against the TFLite reference
/// (TfLiteImportTests); this checks the mapping: layouts, padding, options, broadcasting, axes.
/// </summary>
public class TfLiteOperatorTests
{
    private const int Add = 0, AveragePool = 1, Concatenation = 2, Conv = 3, Depthwise = 4, FullyConnected = 9, Logistic = 14,
        MaxPool = 17, Mul = 18, Relu = 19, ReluN1To1 = 20, Relu6 = 21, Reshape = 22, Softmax = 25, Tanh = 28, Transpose = 39,
        Mean = 40, Sub = 41, Squeeze = 43, ExpandDims = 70, LeakyRelu = 98, HardSwish = 117, Exp = 47, Sqrt = 75, Abs = 101, Elu = 111, UnidirectionalSequenceLstm = 44, LogSoftmax = 50;

    private const sbyte Same = 0, Valid = 1, ActRelu = 1, ActRelu6 = 3;

    [Theory]
    [InlineData(Same, 1, 1, 2, 1)]
    [InlineData(Same, 2, 2, 1, 1)]
    [InlineData(Valid, 2, 1, 1, 1)]
    [InlineData(Same, 1, 1, 1, 2)]
    public void Conv2D_MatchesTfLiteDefinition(sbyte padding, int strideH, int strideW, int dilation, int groups)
    {
        int h = 6, w = 5, c = 4, o = 6, k = 3;
        int oh = Out(padding, h, k, strideH, dilation), ow = Out(padding, w, k, strideW, dilation);
        float[] x = Values(h * w * c, 1), weights = Values(o * k * k * (c / groups), 2), bias = Values(o, 3);
        var m = new TfLiteModelBuilder();
        int xi = m.Float("x", [1, h, w, c]), wi = m.Float("w", [o, k, k, c / groups], weights), bi = m.Float("b", [o], bias), yi = m.Float("y", [1, oh, ow, o]);
        m.Op(Conv, [xi, wi, bi], [yi], Tfl.BuiltinOptions.Conv2DOptions,
            b => Tfl.Conv2DOptions.CreateConv2DOptions(b, padding, strideW, strideH, ActRelu6, dilation, dilation).Value);

        float[] expected = new float[oh * ow * o];
        int pt = PadBefore(padding, h, k, strideH, dilation, oh), pl = PadBefore(padding, w, k, strideW, dilation, ow);
        int cg = c / groups, og = o / groups;
        for (int y = 0; y < oh; y++)
        {
            for (int xx = 0; xx < ow; xx++)
            {
                for (int oc = 0; oc < o; oc++)
                {
                    double acc = bias[oc];
                    for (int ky = 0; ky < k; ky++)
                    {
                        for (int kx = 0; kx < k; kx++)
                        {
                            int iy = y * strideH - pt + ky * dilation, ix = xx * strideW - pl + kx * dilation;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                            {
                                continue;
                            }

                            for (int ic = 0; ic < cg; ic++)
                            {
                                acc += x[(iy * w + ix) * c + oc / og * cg + ic] * weights[((oc * k + ky) * k + kx) * cg + ic];
                            }
                        }
                    }

                    expected[(y * ow + xx) * o + oc] = (float)Math.Clamp(acc, 0, 6);
                }
            }
        }

        AssertClose(expected, Run(m.Build([xi], [yi]), x));
    }

    [Theory]
    [InlineData(Same, 2, 2)]
    [InlineData(Valid, 1, 3)]
    public void DepthwiseConv2D_WithAMultiplier_MatchesTfLiteDefinition(sbyte padding, int stride, int multiplier)
    {
        int h = 7, w = 6, c = 3, k = 3, o = c * multiplier;
        int oh = Out(padding, h, k, stride, 1), ow = Out(padding, w, k, stride, 1);
        float[] x = Values(h * w * c, 4), weights = Values(k * k * o, 5), bias = Values(o, 6);
        var m = new TfLiteModelBuilder();
        int xi = m.Float("x", [1, h, w, c]), wi = m.Float("w", [1, k, k, o], weights), bi = m.Float("b", [o], bias), yi = m.Float("y", [1, oh, ow, o]);
        m.Op(Depthwise, [xi, wi, bi], [yi], Tfl.BuiltinOptions.DepthwiseConv2DOptions,
            b => Tfl.DepthwiseConv2DOptions.CreateDepthwiseConv2DOptions(b, padding, stride, stride, multiplier, 0).Value);

        float[] expected = new float[oh * ow * o];
        int pt = PadBefore(padding, h, k, stride, 1, oh), pl = PadBefore(padding, w, k, stride, 1, ow);
        for (int y = 0; y < oh; y++)
        {
            for (int xx = 0; xx < ow; xx++)
            {
                for (int oc = 0; oc < o; oc++)
                {
                    double acc = bias[oc];
                    for (int ky = 0; ky < k; ky++)
                    {
                        for (int kx = 0; kx < k; kx++)
                        {
                            int iy = y * stride - pt + ky, ix = xx * stride - pl + kx;
                            if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                            {
                                // TFLite: output channel ic·m + j reads input channel ic and filter [0, ky, kx, ic·m + j].
                                acc += x[(iy * w + ix) * c + oc / multiplier] * weights[(ky * k + kx) * o + oc];
                            }
                        }
                    }

                    expected[(y * ow + xx) * o + oc] = (float)acc;
                }
            }
        }

        AssertClose(expected, Run(m.Build([xi], [yi]), x));
    }

    [Fact]
    public void FullyConnected_FlattensItsInput_AsTfLiteDoes()
    {
        float[] x = Values(2 * 3 * 4, 7), weights = Values(5 * 12, 8), bias = Values(5, 9);
        var m = new TfLiteModelBuilder();
        int xi = m.Float("x", [2, 3, 4]), wi = m.Float("w", [5, 12], weights), bi = m.Float("b", [5], bias), yi = m.Float("y", [2, 5]);
        m.Op(FullyConnected, [xi, wi, bi], [yi], Tfl.BuiltinOptions.FullyConnectedOptions,
            b => Tfl.FullyConnectedOptions.CreateFullyConnectedOptions(b, ActRelu).Value);
        // [2,3,4] has 24 values: two rows of K = 12.
        float[] expected = new float[10];
        for (int r = 0; r < 2; r++)
        {
            for (int n = 0; n < 5; n++)
            {
                double acc = bias[n];
                for (int i = 0; i < 12; i++)
                {
                    acc += x[r * 12 + i] * weights[n * 12 + i];
                }

                expected[r * 5 + n] = (float)Math.Max(acc, 0);
            }
        }

        AssertClose(expected, Run(m.Build([xi], [yi]), x));
    }

    [Theory]
    [InlineData(MaxPool, Same)]
    [InlineData(AveragePool, Same)]
    [InlineData(AveragePool, Valid)]
    public void Pooling_ClipsWindowsToTheInput(int code, sbyte padding)
    {
        int h = 5, w = 5, c = 2, k = 2, s = 2;
        int oh = Out(padding, h, k, s, 1), ow = Out(padding, w, k, s, 1);
        float[] x = Values(h * w * c, 10);
        var m = new TfLiteModelBuilder();
        int xi = m.Float("x", [1, h, w, c]), yi = m.Float("y", [1, oh, ow, c]);
        m.Op(code, [xi], [yi], Tfl.BuiltinOptions.Pool2DOptions, b => Tfl.Pool2DOptions.CreatePool2DOptions(b, padding, s, s, k, k, 0).Value);
        float[] expected = new float[oh * ow * c];
        int pt = PadBefore(padding, h, k, s, 1, oh), pl = PadBefore(padding, w, k, s, 1, ow);
        for (int y = 0; y < oh; y++)
        {
            for (int xx = 0; xx < ow; xx++)
            {
                for (int ch = 0; ch < c; ch++)
                {
                    // TFLite: only in-input positions count, for the maximum and for the average's divisor.
                    var window = new List<float>();
                    for (int ky = 0; ky < k; ky++)
                    {
                        for (int kx = 0; kx < k; kx++)
                        {
                            int iy = y * s - pt + ky, ix = xx * s - pl + kx;
                            if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                            {
                                window.Add(x[(iy * w + ix) * c + ch]);
                            }
                        }
                    }

                    expected[(y * ow + xx) * c + ch] = code == MaxPool ? window.Max() : window.Sum() / window.Count;
                }
            }
        }

        AssertClose(expected, Run(m.Build([xi], [yi]), x));
    }

    [Theory]
    [InlineData(Add)]
    [InlineData(Sub)]
    [InlineData(Mul)]
    public void Binary_BroadcastsAPerChannelOperand(int code)
    {
        float[] a = Values(2 * 2 * 3, 11), bias = Values(3, 12);
        var m = new TfLiteModelBuilder();
        int ai = m.Float("a", [1, 2, 2, 3]), bi = m.Float("b", [3], bias), yi = m.Float("y", [1, 2, 2, 3]);
        Tfl.BuiltinOptions type = code switch { Add => Tfl.BuiltinOptions.AddOptions, Sub => Tfl.BuiltinOptions.SubOptions, _ => Tfl.BuiltinOptions.MulOptions };
        m.Op(code, [ai, bi], [yi], type, code switch
        {
            Add => b => Tfl.AddOptions.CreateAddOptions(b, ActRelu).Value,
            Sub => b => Tfl.SubOptions.CreateSubOptions(b, ActRelu).Value,
            _ => b => Tfl.MulOptions.CreateMulOptions(b, ActRelu).Value,
        });
        float[] expected = [.. a.Select((v, i) => Math.Max(0, code switch { Add => v + bias[i % 3], Sub => v - bias[i % 3], _ => v * bias[i % 3] }))];
        AssertClose(expected, Run(m.Build([ai], [yi]), a));
    }

    [Fact]
    public void Concatenation_NegativeAxis_JoinsChannels()
    {
        float[] a = Values(2 * 2 * 3, 13), b2 = Values(2 * 2 * 1, 14);
        var m = new TfLiteModelBuilder();
        int ai = m.Float("a", [1, 2, 2, 3]), bi = m.Float("b", [1, 2, 2, 1]), yi = m.Float("y", [1, 2, 2, 4]);
        m.Op(Concatenation, [ai, bi], [yi], Tfl.BuiltinOptions.ConcatenationOptions, b => Tfl.ConcatenationOptions.CreateConcatenationOptions(b, -1).Value);
        float[] expected = [.. Enumerable.Range(0, 4).SelectMany(p => a.Skip(p * 3).Take(3).Append(b2[p]))];
        AssertClose(expected, Run(m.Build([ai, bi], [yi]), a, b2));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Mean_OverHeightAndWidth(bool keepDims)
    {
        float[] x = Values(3 * 4 * 2, 15);
        var m = new TfLiteModelBuilder();
        int xi = m.Float("x", [1, 3, 4, 2]), axes = m.Int32("axes", [1, 2]), yi = m.Float("y", keepDims ? [1, 1, 1, 2] : [1, 2]);
        m.Op(Mean, [xi, axes], [yi], Tfl.BuiltinOptions.ReducerOptions, b => Tfl.ReducerOptions.CreateReducerOptions(b, keepDims).Value);
        float[] expected = [.. Enumerable.Range(0, 2).Select(ch => x.Where((_, i) => i % 2 == ch).Average())];
        AssertClose(expected, Run(m.Build([xi], [yi]), x));
    }

    [Fact]
    public void Transpose_AndShapeOperators()
    {
        float[] x = Values(2 * 3 * 4, 16);
        var m = new TfLiteModelBuilder();
        int xi = m.Float("x", [1, 2, 3, 4]), perm = m.Int32("perm", [0, 3, 1, 2]), t = m.Float("t", [1, 4, 2, 3]);
        int squeezed = m.Float("s", [4, 2, 3]), dims = m.Int32("dims", [3]), expanded = m.Float("e", [4, 2, 3, 1]);
        int shape = m.Int32("shape", [4, 6]), yi = m.Float("y", [4, 6]);
        m.Op(Transpose, [xi, perm], [t]);
        m.Op(Squeeze, [t], [squeezed], Tfl.BuiltinOptions.SqueezeOptions, b => Tfl.SqueezeOptions.CreateSqueezeOptions(b, Tfl.SqueezeOptions.CreateSqueezeDimsVector(b, [0])).Value);
        m.Op(ExpandDims, [squeezed, dims], [expanded]);
        m.Op(Reshape, [expanded, shape], [yi]);
        float[] expected = new float[24];
        for (int h = 0; h < 2; h++)
        {
            for (int w = 0; w < 3; w++)
            {
                for (int c = 0; c < 4; c++)
                {
                    expected[(c * 2 + h) * 3 + w] = x[(h * 3 + w) * 4 + c];
                }
            }
        }

        AssertClose(expected, Run(m.Build([xi], [yi]), x));
    }

    [Theory]
    [InlineData(Logistic)]
    [InlineData(Tanh)]
    [InlineData(Relu)]
    [InlineData(Relu6)]
    [InlineData(ReluN1To1)]
    [InlineData(LeakyRelu)]
    [InlineData(HardSwish)]
    [InlineData(Softmax)]
    [InlineData(Exp)]
    [InlineData(Sqrt)]
    [InlineData(Abs)]
    [InlineData(Elu)]
    [InlineData(LogSoftmax)]
    public void Unary_MatchesItsDefinition(int code)
    {
        float[] x = [.. Values(12, 17).Select(v => v * 8)];
        var m = new TfLiteModelBuilder();
        int xi = m.Float("x", [2, 6]), yi = m.Float("y", [2, 6]);
        Func<FlatBufferBuilder, int>? options = code switch
        {
            LeakyRelu => b => Tfl.LeakyReluOptions.CreateLeakyReluOptions(b, 0.1f).Value,
            Softmax => b => Tfl.SoftmaxOptions.CreateSoftmaxOptions(b, 0.5f).Value,
            _ => null,
        };
        m.Op(code, [xi], [yi], code switch { LeakyRelu => Tfl.BuiltinOptions.LeakyReluOptions, Softmax => Tfl.BuiltinOptions.SoftmaxOptions, _ => Tfl.BuiltinOptions.NONE }, options);
        float[] expected = code switch
        {
            Logistic => [.. x.Select(v => 1 / (1 + MathF.Exp(-v)))],
            Tanh => [.. x.Select(MathF.Tanh)],
            Relu => [.. x.Select(v => Math.Max(v, 0))],
            Relu6 => [.. x.Select(v => Math.Clamp(v, 0, 6))],
            ReluN1To1 => [.. x.Select(v => Math.Clamp(v, -1, 1))],
            LeakyRelu => [.. x.Select(v => v < 0 ? 0.1f * v : v)],
            HardSwish => [.. x.Select(v => v * Math.Clamp(v + 3, 0, 6) / 6)],
            Exp => [.. x.Select(MathF.Exp)],
            Sqrt => [.. x.Select(MathF.Sqrt)],
            Abs => [.. x.Select(MathF.Abs)],
            Elu => [.. x.Select(v => v > 0 ? v : MathF.Exp(v) - 1)],
            LogSoftmax => [.. x.Chunk(6).SelectMany(row => row.Select(v => (float)(v - row.Max() - Math.Log(row.Sum(u => Math.Exp(u - row.Max()))))))],
            _ => [.. x.Chunk(6).SelectMany(row => row.Select(v => MathF.Exp(0.5f * (v - row.Max())) / row.Sum(u => MathF.Exp(0.5f * (u - row.Max())))))],
        };
        AssertClose(expected, Run(m.Build([xi], [yi]), x));
    }

    /// <summary>
    /// int8 LOG_SOFTMAX with TFLite's output parameters (16/256, 127) imports and runs: each output is the real
    /// log-softmax of the int8 inputs to within half an output step (EdgeInfer's method, not TFLite's fixed point).
    /// </summary>
    [Fact]
    public void LogSoftmax_Int8_WithTfLitesOutputParameters_RunsWithinHalfAStep()
    {
        float[] x = [.. Enumerable.Range(0, 20).Select(i => MathF.Round(Values(20, 23)[i] * 60) / 10)];
        var m = new TfLiteModelBuilder();
        int xi = m.Int8("x", [2, 10], 0.1f, 0), yi = m.Int8("y", [2, 10], 16f / 256, 127);
        m.Op(LogSoftmax, [xi], [yi]);
        float[] y = Run(m.Build([xi], [yi]), x);
        for (int i = 0; i < x.Length; i++)
        {
            float[] row = x[(i / 10 * 10)..(i / 10 * 10 + 10)];
            double expected = x[i] - row.Max() - Math.Log(row.Sum(u => Math.Exp((double)u - row.Max())));
            Assert.True(Math.Abs(y[i] - expected) <= 0.5 * 16 / 256 + 1e-6, $"[{i}]: {y[i]}, expected {expected}");
        }
    }

    [Fact]
    public void LogSoftmax_Int8_WithOtherOutputParameters_IsRefusedByName()
    {
        var m = new TfLiteModelBuilder();
        int xi = m.Int8("x", [1, 10], 0.1f, 0), yi = m.Int8("y", [1, 10], 1f / 256, -128);
        m.Op(LogSoftmax, [xi], [yi]);
        var e = Assert.Throws<ConversionException>(() => TfLiteImporter.Import(m.Build([xi], [yi]), "ls.tflite", _ => { }));
        Assert.Equal("ls.tflite: operator 0 (LOG_SOFTMAX) has int8 output 'y' with scale 0.00390625 and zero point -128; int8 LOG_SOFTMAX takes scale 16/256 and zero point 127", e.Message);
    }

    [Fact]
    public void AnOutputShapeThatDisagreesWithTheOperator_IsRefused()
    {
        var m = new TfLiteModelBuilder();
        int ai = m.Float("a", [1, 2, 2, 3]), bi = m.Float("b", [3], Values(3, 1)), yi = m.Float("y", [1, 2, 2, 4]);
        m.Op(Add, [ai, bi], [yi], Tfl.BuiltinOptions.AddOptions, b => Tfl.AddOptions.CreateAddOptions(b).Value);
        var e = Assert.Throws<ConversionException>(() => TfLiteImporter.Import(m.Build([ai], [yi]), "bad.tflite", _ => { }));
        Assert.Equal("bad.tflite: operator 0 (ADD) output [1,2,2,4] should be [1,2,2,3] for its inputs", e.Message);
    }

    [Fact]
    public void Slice_TakesSizeFromBegin_MinusOneToTheEnd()
    {
        float[] x = Values(4 * 5 * 3, 18);
        var m = new TfLiteModelBuilder();
        int xi = m.Float("x", [1, 4, 5, 3]), begin = m.Int32("begin", [0, 1, 2, 1]), size = m.Int32("size", [1, 2, -1, 2]), yi = m.Float("y", [1, 2, 3, 2]);
        m.Op(65, [xi, begin, size], [yi], Tfl.BuiltinOptions.SliceOptions, b => { Tfl.SliceOptions.StartSliceOptions(b); return Tfl.SliceOptions.EndSliceOptions(b).Value; });
        float[] expected = [.. from h in Enumerable.Range(1, 2) from w in Enumerable.Range(2, 3) from c in Enumerable.Range(1, 2) select x[(h * 5 + w) * 3 + c]];
        AssertClose(expected, Run(m.Build([xi], [yi]), x));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void StridedSlice_MasksNegativeIndicesStridesAndShrink(bool shrink)
    {
        // x [2, 6, 4]: axis 0 whole (begin and end masks) or, shrunk, element 1 only; axis 1 from 1 to −1 in steps of 2
        // (1 and 3); axis 2 from −3 to the end (1, 2, 3).
        float[] x = Values(2 * 6 * 4, 19);
        var m = new TfLiteModelBuilder();
        int xi = m.Float("x", [2, 6, 4]), begin = m.Int32("begin", [1, 1, -3]), end = m.Int32("end", [0, -1, 4]), strides = m.Int32("strides", [1, 2, 1]);
        int yi = m.Float("y", shrink ? [2, 3] : [2, 2, 3]);
        int beginMask = shrink ? 0 : 1, endMask = shrink ? 0 : 1, shrinkMask = shrink ? 1 : 0;
        m.Op(45, [xi, begin, end, strides], [yi], Tfl.BuiltinOptions.StridedSliceOptions,
            b => Tfl.StridedSliceOptions.CreateStridedSliceOptions(b, beginMask, endMask, 0, 0, shrinkMask).Value);
        int[] rows = shrink ? [1] : [0, 1];
        float[] expected = [.. from n in rows from h in new[] { 1, 3 } from c in new[] { 1, 2, 3 } select x[(n * 6 + h) * 4 + c]];
        AssertClose(expected, Run(m.Build([xi], [yi]), x));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Split_AndSplitV_WriteEveryPart(bool sizes)
    {
        float[] x = Values(6 * 3, 20);
        var m = new TfLiteModelBuilder();
        int xi = m.Float("x", [1, 6, 3]);
        int[] parts = sizes ? [1, 3, 2] : [2, 2, 2];
        int[] outs = [.. parts.Select((p, i) => m.Float($"part{i}", [1, p, 3]))];
        if (sizes)
        {
            int splits = m.Int32("sizes", [1, -1, 2]), axis = m.Int32("axis", [1]);
            m.Op(102, [xi, splits, axis], outs, Tfl.BuiltinOptions.SplitVOptions, b => Tfl.SplitVOptions.CreateSplitVOptions(b, 3).Value);
        }
        else
        {
            int axis = m.Int32("axis", [-2]);
            m.Op(49, [axis, xi], outs, Tfl.BuiltinOptions.SplitOptions, b => Tfl.SplitOptions.CreateSplitOptions(b, 3).Value);
        }

        float[][] y = RunAll(m.Build([xi], outs), x);
        int row = 0;
        for (int p = 0; p < parts.Length; p++)
        {
            AssertClose(x[(row * 3)..((row + parts[p]) * 3)], y[p]);
            row += parts[p];
        }
    }

    [Fact]
    public void APadThatNoConvolutionAbsorbs_IsRefused()
    {
        var m = new TfLiteModelBuilder();
        int xi = m.Float("x", [1, 2, 2, 3]), pads = m.Int32("pads", [0, 0, 1, 1, 1, 1, 0, 0]), padded = m.Float("padded", [1, 4, 4, 3]), yi = m.Float("y", [1, 4, 4, 3]);
        m.Op(34, [xi, pads], [padded]);
        m.Op(Relu, [padded], [yi]);
        var e = Assert.Throws<ConversionException>(() => TfLiteImporter.Import(m.Build([xi], [yi]), "pad.tflite", _ => { }));
        Assert.Equal("pad.tflite: operator 1 (RELU) reads 'padded', the output of a PAD; EdgeInfer folds PAD only into a CONV_2D or DEPTHWISE_CONV_2D that reads it", e.Message);
    }

    /// <summary>
    /// UNIDIRECTIONAL_SEQUENCE_LSTM against TFLite's definition in double: per gate g in (i, f, c, o),
    /// z_g = W_g·x_t + R_g·h + b_g; c = σ(z_f)·c + σ(z_i)·act(z_c), clipped to ±cell_clip; h = σ(z_o)·act(c).
    /// </summary>
    [Theory]
    [InlineData(false, 4, 0f, 1)]
    [InlineData(true, 4, 0f, 2)]
    [InlineData(false, 1, 0.5f, 3)] // RELU cells grow: the clip binds
    [InlineData(true, 6, 10f, 1)]
    public void SequenceLstm_MatchesTfLiteDefinition(bool timeMajor, sbyte activation, float cellClip, int batch)
    {
        const int steps = 5, inputs = 3, hidden = 4;
        int[] xShape = timeMajor ? [steps, batch, inputs] : [batch, steps, inputs];
        float[] x = Values(steps * batch * inputs, 1);
        var m = new TfLiteModelBuilder();
        int xi = m.Float("x", xShape);
        int[] w = [.. Enumerable.Range(0, 4).Select(g => m.Float($"w{g}", [hidden, inputs], Values(hidden * inputs, 10 + g)))];
        int[] r = [.. Enumerable.Range(0, 4).Select(g => m.Float($"r{g}", [hidden, hidden], Values(hidden * hidden, 20 + g)))];
        int[] b = [.. Enumerable.Range(0, 4).Select(g => m.Float($"b{g}", [hidden], Values(hidden, 30 + g)))];
        int h0 = m.Variable("h0", [batch, hidden]), c0 = m.Variable("c0", [batch, hidden], new float[batch * hidden]);
        int yi = m.Float("y", timeMajor ? [steps, batch, hidden] : [batch, steps, hidden]);
        m.Op(UnidirectionalSequenceLstm, [xi, .. w, .. r, -1, -1, -1, .. b, -1, -1, h0, c0, -1, -1, -1, -1], [yi],
            Tfl.BuiltinOptions.UnidirectionalSequenceLSTMOptions,
            o => Tfl.UnidirectionalSequenceLSTMOptions.CreateUnidirectionalSequenceLSTMOptions(o, activation, cellClip, 0f, timeMajor).Value);

        float[] actual = Run(m.Build([xi], [yi]), x);

        double Act(double v) => activation switch { 4 => Math.Tanh(v), 1 => Math.Max(v, 0), _ => 1 / (1 + Math.Exp(-v)) };
        double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));
        float[] W(int g) => Values(hidden * inputs, 10 + g);
        float[] R(int g) => Values(hidden * hidden, 20 + g);
        var expected = new float[actual.Length];
        bool clipped = false;
        for (int n = 0; n < batch; n++)
        {
            var h = new double[hidden];
            var c = new double[hidden];
            for (int t = 0; t < steps; t++)
            {
                int at = (timeMajor ? t * batch + n : n * steps + t) * inputs;
                double Z(int g, int j) => Values(hidden, 30 + g)[j]
                    + Enumerable.Range(0, inputs).Sum(k => (double)W(g)[j * inputs + k] * x[at + k])
                    + Enumerable.Range(0, hidden).Sum(k => (double)R(g)[j * hidden + k] * h[k]);
                var next = new double[hidden];
                for (int j = 0; j < hidden; j++)
                {
                    double cell = Sigmoid(Z(1, j)) * c[j] + Sigmoid(Z(0, j)) * Act(Z(2, j));
                    clipped |= cellClip > 0 && Math.Abs(cell) > cellClip;
                    c[j] = cellClip > 0 ? Math.Clamp(cell, -cellClip, cellClip) : cell;
                    next[j] = Sigmoid(Z(3, j)) * Act(c[j]);
                    expected[(timeMajor ? t * batch + n : n * steps + t) * hidden + j] = (float)next[j];
                }

                h = next;
            }
        }

        Assert.True(cellClip != 0.5f || clipped, "the 0.5 clip should bind in this case");
        AssertClose(expected, actual);
    }

    public static TheoryData<string> RefusedLstms => ["peephole", "cifg", "projection", "nonzero-state", "variable-elsewhere", "int8-weights"];

    [Theory]
    [MemberData(nameof(RefusedLstms))]
    public void SequenceLstm_WhatItDoesNotHave_IsRefusedByName(string variant)
    {
        var m = new TfLiteModelBuilder();
        int xi = m.Float("x", [1, 2, 3]);
        int Weight(string name, int[] shape) => m.Float(name, shape, Values(shape.Aggregate(1, (a, d) => a * d), name.Length));
        int[] w = [.. Enumerable.Range(0, 4).Select(g => Weight($"w{g}", [2, 3]))];
        int[] r = [.. Enumerable.Range(0, 4).Select(g => Weight($"r{g}", [2, 2]))];
        int[] b = [.. Enumerable.Range(0, 4).Select(g => Weight($"b{g}", [2]))];
        int h0 = m.Variable("h0", [1, 2]), c0 = m.Variable("c0", [1, 2], variant == "nonzero-state" ? [0f, 1f] : null);
        int yi = m.Float("y", [1, 2, 2]);
        int[] inputs = [xi, .. w, .. r, -1, -1, -1, .. b, -1, -1, h0, c0];
        string expected = variant switch
        {
            "peephole" => "peephole connections",
            "cifg" => "CIFG",
            "projection" => "a projection layer",
            "nonzero-state" => "non-zero initial value",
            "variable-elsewhere" => "a variable",
            _ => "hybrid models are not supported",
        };
        if (variant == "peephole") { inputs[9] = Weight("p", [2]); }
        if (variant == "cifg") { inputs[1] = -1; inputs[5] = -1; inputs[12] = -1; }
        if (variant == "projection") { inputs[16] = Weight("proj", [2, 2]); }
        if (variant == "int8-weights") { inputs[2] = m.Int8Const("w1q", [2, 3]); }
        m.Op(UnidirectionalSequenceLstm, inputs, [yi], Tfl.BuiltinOptions.UnidirectionalSequenceLSTMOptions,
            o => Tfl.UnidirectionalSequenceLSTMOptions.CreateUnidirectionalSequenceLSTMOptions(o, 4, 10f, 0f, false).Value);
        int graphOutput = yi;
        if (variant == "variable-elsewhere")
        {
            graphOutput = m.Float("z", [1, 2]);
            m.Op(Add, [h0, h0], [graphOutput]);
        }

        var e = Assert.Throws<ConversionException>(() => TfLiteImporter.Import(m.Build([xi], variant == "variable-elsewhere" ? [yi, graphOutput] : [yi]), "lstm.tflite", _ => { }));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void AnUnsupportedOperator_IsNamed()
    {
        var m = new TfLiteModelBuilder();
        int xi = m.Float("x", [1, 4]), yi = m.Float("y", [1, 4]);
        m.Op(73, [xi], [yi]); // LOG
        var e = Assert.Throws<ConversionException>(() => TfLiteImporter.Import(m.Build([xi], [yi]), "log.tflite", _ => { }));
        Assert.StartsWith("log.tflite: operator 0 (builtin operator 73) is not supported by EdgeInfer's TFLite importer (supported: CONV_2D,", e.Message, StringComparison.Ordinal);
    }

    private static float[] Run(byte[] tflite, params float[][] inputs) => RunAll(tflite, inputs)[0];

    private static float[][] RunAll(byte[] tflite, params float[][] inputs)
    {
        var graph = Passes.TfLitePipeline.Run(TfLiteImporter.Import(tflite, "test.tflite", _ => { }), _ => { });
        using Model model = Model.FromBytes(Emit.ModelEmitter.Emit(graph).File, "test.eim");
        var interpreter = new Interpreter(model);
        for (int i = 0; i < inputs.Length; i++)
        {
            interpreter.Input(i).WriteFloats(inputs[i]);
        }

        interpreter.Invoke();
        return [.. Enumerable.Range(0, interpreter.OutputCount).Select(o => interpreter.Output(o).ToFloatArray())];
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True((float.IsNaN(expected[i]) && float.IsNaN(actual[i])) || Math.Abs(expected[i] - actual[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])),
                $"[{i}]: expected {expected[i]}, got {actual[i]}");
        }
    }

    private static int Out(sbyte padding, int size, int k, int stride, int dilation)
        => padding == Same ? (size + stride - 1) / stride : (size - ((k - 1) * dilation + 1) + stride) / stride;

    /// <summary>TFLite's SAME padding: total = max((out − 1)·stride + effective kernel − in, 0), half of it (rounded down) before.</summary>
    private static int PadBefore(sbyte padding, int size, int k, int stride, int dilation, int output)
        => padding == Valid ? 0 : Math.Max((output - 1) * stride + (k - 1) * dilation + 1 - size, 0) / 2;

    private static float[] Values(int count, int seed) => [.. Enumerable.Range(0, count).Select(i => MathF.Sin(i * 0.7f + seed) * 0.9f)];
}
