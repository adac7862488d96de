using EdgeInfer.Format;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Kernels;

public class FullyConnectedValidationTests
{
    [Fact]
    public void Invoke_ComputesSequentialChainPlusBiasThenClamp_WithLoadTimeWeights()
    {
        var rng = new Random(2);
        float[] x = KernelAssert.Random(rng, 3 * 29);
        float[] w = KernelAssert.Random(rng, 6 * 29);
        float[] b = KernelAssert.Random(rng, 6);
        var clamp = new ClampOptions(-0.5f, 0.75f);
        float[] y = KernelAssert.RunEveryPath(OpCode.FullyConnected, clamp, [TestTensor.Input([3, 29], x), TestTensor.Derived([6, 29], w), TestTensor.Const([6], b)], [3, 6]);
        for (int m = 0; m < 3; m++)
        {
            for (int n = 0; n < 6; n++)
            {
                float dot = CanonicalOrder.Chain(new ArraySegment<float>(x, m * 29, 29), new ArraySegment<float>(w, n * 29, 29));
                Assert.Equal(CanonicalOrder.Clamp(dot + b[n], clamp.Min, clamp.Max), y[m * 6 + n]);
            }
        }
    }

    [Fact]
    public void Prepare_Malformed_IsRefused()
    {
        TestTensor x = TestTensor.Input([2, 6], new float[12]);
        TestTensor w = TestTensor.Const([4, 6], new float[24]);
        KernelAssert.Refused(OpCode.FullyConnected, ClampOptions.None, [x, TestTensor.Const([4, 5], new float[20]), null], TestTensor.Output([2, 4]));
        KernelAssert.Refused(OpCode.FullyConnected, ClampOptions.None, [x, TestTensor.Const([24], new float[24]), null], TestTensor.Output([2, 4]));
        KernelAssert.Refused(OpCode.FullyConnected, ClampOptions.None, [x, w, TestTensor.Const([3], new float[3])], TestTensor.Output([2, 4]));
        KernelAssert.Refused(OpCode.FullyConnected, ClampOptions.None, [x, w, null], TestTensor.Output([2, 5]));
        KernelAssert.Refused(OpCode.FullyConnected, ClampOptions.None, [x, w, null], TestTensor.Output([8]));
        KernelAssert.Refused(OpCode.FullyConnected, new ClampOptions(1, 0), [x, w, null], TestTensor.Output([2, 4]));
        KernelAssert.Refused(OpCode.FullyConnected, new ClampOptions(0, float.NaN), [x, w, null], TestTensor.Output([2, 4]));
    }
}
