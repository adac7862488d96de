using System.Numerics;
using EdgeInfer.Runtime.Kernels.Quantized;

namespace EdgeInfer.Runtime.Kernels;

/// <summary>
/// Int8 softmax by TFLite Micro's reference integer method (gemmlowp fixed point), output scale 1/256, zero point −128:
/// <list type="number">
/// <item>per row: d = x − max ≤ 0; rows entries with d &lt; diff_min contribute nothing (and output −128);</item>
/// <item>d is rescaled by the input·β multiplier to Q5.26, exp(d) evaluated on [−1/4, 0) by a Taylor polynomial
/// around −1/8 and extended by the barrel shifter of exp(−2^k) constants (Q0.31 result);</item>
/// <item>the exps are summed in Q12.19, the reciprocal of the sum found by Newton–Raphson (1/(1+x) on [0,1));</item>
/// <item>output = RoundingDivideByPOT(reciprocal·exp, bits over unit + 23) − 128, saturated.</item>
/// </list>
/// Integer arithmetic only; the same bytes on every path and platform.
/// </summary>
public unsafe struct SoftmaxInt8Kernel : IKernel<SoftmaxInt8Kernel>, IInt8SliceOperation
{
    private const int ScaledDiffIntegerBits = 5;
    private const int AccumulationIntegerBits = 12;

    private TensorBuffer _input;
    private TensorBuffer _output;
    private Int8AxisSlices _slices;
    private int _inputMultiplier, _inputLeftShift, _diffMin;

    public static OpCode OpCode => OpCode.Softmax;

    public static DataType InputType => DataType.Int8;

    public static SoftmaxInt8Kernel Prepare(ref KernelContext context)
    {
        Int8AxisSlices slices = Int8AxisSlices.Prepare(ref context, 1f / 256, -128, "scale 1/256 and zero point −128", out SoftmaxOptions o, out float sx);

        // TFLite's PreprocessSoftmaxScaling and CalculateInputRadius.
        double real = Math.Min((double)o.Beta * sx * (1 << (31 - ScaledDiffIntegerBits)), (1L << 31) - 1.0);
        (int multiplier, int shift) = QuantizedMath.QuantizeMultiplier(real);
        context.Require(shift >= 0, $"input scale {sx} × beta {o.Beta} is too small for the int8 softmax (multiplier below 1)");
        double radius = ((1 << ScaledDiffIntegerBits) - 1) * (double)(1L << (31 - ScaledDiffIntegerBits)) / (1L << shift);
        return new SoftmaxInt8Kernel
        {
            _input = context.InputBuffer(0), _output = context.OutputBuffer(0),
            _slices = slices,
            _inputMultiplier = multiplier, _inputLeftShift = shift, _diffMin = -(int)Math.Floor(radius),
        };
    }

    public readonly void Invoke(Span<byte> scratch) => _slices.Run(this, (sbyte*)_input.Pointer, (sbyte*)_output.Pointer);

    public readonly void Slice(sbyte* x, sbyte* y, int stride, int max)
    {
        int sumOfExps = 0; // Q12.19
        for (int c = 0; c < _slices.Depth; c++)
        {
            int diff = x[c * stride] - max;
            if (diff >= _diffMin)
            {
                sumOfExps += QuantizedMath.RoundingDivideByPOT(ExpOnNegativeValues(Rescaled(diff)), AccumulationIntegerBits);
            }
        }

        int reciprocal = Reciprocal(sumOfExps, AccumulationIntegerBits, out int bitsOverUnit);
        for (int c = 0; c < _slices.Depth; c++)
        {
            int diff = x[c * stride] - max;
            int value = sbyte.MinValue;
            if (diff >= _diffMin)
            {
                int exp = ExpOnNegativeValues(Rescaled(diff));
                int unsaturated = QuantizedMath.RoundingDivideByPOT(QuantizedMath.SaturatingRoundingDoublingHighMul(reciprocal, exp), bitsOverUnit + 31 - 8);
                value = Math.Clamp(unsaturated - 128, sbyte.MinValue, sbyte.MaxValue);
            }

            y[c * stride] = (sbyte)value;
        }
    }

    /// <summary>MultiplyByQuantizedMultiplierGreaterThanOne: diff·2^shift, then the Q31 high multiply (Q5.26 result).</summary>
    private readonly int Rescaled(int diff) => QuantizedMath.SaturatingRoundingDoublingHighMul(unchecked(diff * (1 << _inputLeftShift)), _inputMultiplier);

    /// <summary>gemmlowp's exp_on_negative_values for a Q5.26 input a ≤ 0; the result is Q0.31.</summary>
    internal static int ExpOnNegativeValues(int a)
    {
        const int fractionalBits = 31 - ScaledDiffIntegerBits; // 26
        const int oneQuarter = 1 << (fractionalBits - 2);
        int aModQuarterMinusOneQuarter = (a & (oneQuarter - 1)) - oneQuarter;
        int result = ExpOnInterval(SaturatingShiftLeft(aModQuarterMinusOneQuarter, ScaledDiffIntegerBits));
        int remainder = aModQuarterMinusOneQuarter - a;
        result = Barrel(result, remainder, fractionalBits - 2, 1672461947); // exp(−1/4)
        result = Barrel(result, remainder, fractionalBits - 1, 1302514674); // exp(−1/2)
        result = Barrel(result, remainder, fractionalBits + 0, 790015084);  // exp(−1)
        result = Barrel(result, remainder, fractionalBits + 1, 290630308);  // exp(−2)
        result = Barrel(result, remainder, fractionalBits + 2, 39332535);   // exp(−4)
        result = Barrel(result, remainder, fractionalBits + 3, 720401);     // exp(−8)
        result = Barrel(result, remainder, fractionalBits + 4, 242);        // exp(−16)
        return a == 0 ? int.MaxValue : result;
    }

    private static int Barrel(int result, int remainder, int bit, int multiplier)
        => (remainder & (1 << bit)) != 0 ? QuantizedMath.SaturatingRoundingDoublingHighMul(result, multiplier) : result;

    /// <summary>gemmlowp's exp_on_interval_between_negative_one_quarter_and_0_excl (Q0.31 in and out).</summary>
    private static int ExpOnInterval(int a)
    {
        const int constantTerm = 1895147668; // exp(−1/8)
        const int oneThird = 715827883;
        int x = a + (1 << 28); // a + 1/8
        int x2 = QuantizedMath.SaturatingRoundingDoublingHighMul(x, x);
        int x3 = QuantizedMath.SaturatingRoundingDoublingHighMul(x2, x);
        int x4 = QuantizedMath.SaturatingRoundingDoublingHighMul(x2, x2);
        int x4Over4 = QuantizedMath.RoundingDivideByPOT(x4, 2);
        int poly = QuantizedMath.RoundingDivideByPOT(QuantizedMath.SaturatingRoundingDoublingHighMul(x4Over4 + x3, oneThird) + x2, 1);
        return constantTerm + QuantizedMath.SaturatingRoundingDoublingHighMul(constantTerm, x + poly);
    }

    /// <summary>TFLite's GetReciprocal: 1/x for x in Q(integerBits), as a Q0.31 value and a count of bits over one.</summary>
    internal static int Reciprocal(int x, int integerBits, out int bitsOverUnit)
    {
        int headroomPlusOne = BitOperations.LeadingZeroCount((uint)x);
        bitsOverUnit = integerBits - headroomPlusOne;
        int shiftedSumMinusOne = unchecked((int)(((uint)x << headroomPlusOne) - (1u << 31)));
        return OneOverOnePlusX(shiftedSumMinusOne);
    }

    /// <summary>gemmlowp's one_over_one_plus_x_for_x_in_0_1: Newton–Raphson in Q2.29, result Q0.31.</summary>
    private static int OneOverOnePlusX(int a)
    {
        int halfDenominator = RoundingHalfSum(a, int.MaxValue);
        const int constant48Over17 = 1515870810;
        const int constantNeg32Over17 = -1010580540;
        int x = constant48Over17 + QuantizedMath.SaturatingRoundingDoublingHighMul(halfDenominator, constantNeg32Over17);
        for (int i = 0; i < 3; i++)
        {
            int halfDenominatorTimesX = QuantizedMath.SaturatingRoundingDoublingHighMul(halfDenominator, x);
            int oneMinus = (1 << 29) - halfDenominatorTimesX;
            x += SaturatingShiftLeft(QuantizedMath.SaturatingRoundingDoublingHighMul(x, oneMinus), 2);
        }

        return SaturatingShiftLeft(x, 1);
    }

    private static int RoundingHalfSum(int a, int b)
    {
        long sum = (long)a + b;
        long sign = sum >= 0 ? 1 : -1;
        return (int)((sum + sign) / 2);
    }

    /// <summary>gemmlowp's SaturatingRoundingMultiplyByPOT for a positive exponent: x·2^e, saturated.</summary>
    private static int SaturatingShiftLeft(int x, int exponent)
    {
        int threshold = (1 << (31 - exponent)) - 1;
        return x > threshold ? int.MaxValue : x < -threshold ? int.MinValue : x << exponent;
    }
}
