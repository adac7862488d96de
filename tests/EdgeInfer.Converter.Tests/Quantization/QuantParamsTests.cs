using EdgeInfer.Converter.Quantization;

namespace EdgeInfer.Converter.Tests.Quantization;

public class QuantParamsTests
{
    [Fact]
    public void Asymmetric_ReluRange_SpendsAllLevelsOnPositives()
    {
        (float scale, int zp) = QuantParams.Asymmetric(0, 25.5);
        Assert.Equal(0.1f, scale, 6);
        Assert.Equal(-128, zp);
    }

    [Fact]
    public void Asymmetric_RangeWithoutZero_IsWidenedToIncludeZero()
    {
        (float scale, int zp) = QuantParams.Asymmetric(2, 4);
        Assert.Equal(4f / 255, scale, 6);
        Assert.Equal(-128, zp);
        Assert.Equal(0, QuantParams.Quantize(0, scale, zp) - zp); // zero is exact
    }

    [Fact]
    public void Asymmetric_SymmetricRange_HasZeroPointNearZero()
    {
        (float scale, int zp) = QuantParams.Asymmetric(-1, 1);
        Assert.Equal(2f / 255, scale, 6);
        Assert.InRange(zp, -1, 0);
    }

    [Fact]
    public void SymmetricPerChannel_ScalesEachRowByItsOwnMaximum()
    {
        float[] w = [1, -2, 0.5f, 0, /* channel 1 */ 10, 5, -10, 2.5f];
        (sbyte[] q, float[] scales) = QuantParams.SymmetricPerChannel(w, 2);
        Assert.Equal([2f / 127, 10f / 127], scales);
        Assert.Equal([64, -127, 32, 0, 127, 64, -127, 32], q.Select(v => (int)v).ToArray());
    }

    [Fact]
    public void SymmetricPerChannel_AllZeroChannel_GetsAPositiveScale()
    {
        (_, float[] scales) = QuantParams.SymmetricPerChannel(new float[4], 1);
        Assert.True(scales[0] > 0);
    }

    [Fact]
    public void Quantize_RoundsHalfAwayFromZero_AndSaturates()
    {
        Assert.Equal(3, QuantParams.Quantize(2.5f, 1, 0));
        Assert.Equal(-3, QuantParams.Quantize(-2.5f, 1, 0));
        Assert.Equal(127, QuantParams.Quantize(1000, 1, 0));
        Assert.Equal(-128, QuantParams.Quantize(-1000, 1, 0));
    }

    [Fact]
    public void Bias_UsesInputScaleTimesChannelScale()
    {
        int[] q = QuantParams.Bias([1f, -1f], 0.5f, [0.01f, 0.1f]);
        Assert.Equal([200, -20], q);
    }
}
