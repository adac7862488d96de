using EdgeInfer.Format;
using EdgeInfer.TestSupport;

namespace EdgeInfer.Runtime.Tests.Kernels;

public class DataMovementKernelTests
{
    public static TheoryData<int[], int[]> Permutations => new()
    {
        { [2, 5, 7, 3], [0, 3, 1, 2] },     // NHWC → NCHW
        { [2, 3, 5, 7], [0, 2, 3, 1] },     // NCHW → NHWC
        { [9, 13], [1, 0] },
        { [3, 4, 5], [2, 0, 1] },
        { [2, 3, 4, 5], [0, 2, 1, 3] },
        { [2, 1, 4, 1, 3], [4, 3, 2, 1, 0] },
        { [1, 6, 1, 5], [3, 1, 2, 0] },     // size-1 axes: a 2-D transpose in disguise
        { [4, 5, 6], [0, 1, 2] },           // identity
        { [2, 2, 3, 2, 3, 2], [5, 3, 1, 0, 2, 4] },
        { [2, 1, 2, 1, 2, 1, 2, 3], [7, 0, 6, 1, 5, 2, 4, 3] },
    };

    [Theory]
    [MemberData(nameof(Permutations))]
    public void Transpose_MovesEveryElementWherePermSays(int[] shape, int[] perm)
    {
        int count = KernelAssert.Count(shape);
        float[] x = [.. Enumerable.Range(0, count).Select(i => (float)i)];
        int[] outShape = [.. perm.Select(p => shape[p])];
        float[] y = KernelAssert.RunEveryPath(OpCode.Transpose, new TransposeOptions(perm), [TestTensor.Input(shape, x)], outShape);

        int rank = shape.Length;
        var index = new int[rank];
        for (int i = 0; i < count; i++)
        {
            int rest = i;
            for (int d = rank - 1; d >= 0; d--)
            {
                index[d] = rest % outShape[d];
                rest /= outShape[d];
            }

            // Output index j along axis d is input index j along axis perm[d].
            int source = 0;
            var inIndex = new int[rank];
            for (int d = 0; d < rank; d++)
            {
                inIndex[perm[d]] = index[d];
            }

            for (int d = 0; d < rank; d++)
            {
                source = source * shape[d] + inIndex[d];
            }

            Assert.Equal(source, y[i]);
        }
    }

    [Fact]
    public void Transpose_MalformedPermutation_IsRefused()
    {
        TestTensor x = TestTensor.Input([2, 3, 4], new float[24]);
        KernelAssert.Refused(OpCode.Transpose, new TransposeOptions([0, 0, 1]), [x], TestTensor.Output([2, 2, 3]));
        KernelAssert.Refused(OpCode.Transpose, new TransposeOptions([0, 1, 3]), [x], TestTensor.Output([2, 3, 4]));
        KernelAssert.Refused(OpCode.Transpose, new TransposeOptions([1, 0]), [x], TestTensor.Output([3, 2, 4]));
        KernelAssert.Refused(OpCode.Transpose, new TransposeOptions([2, 1, 0]), [x], TestTensor.Output([2, 3, 4]));
    }

    public static TheoryData<int[], int[], int[], int[]> Slices => new()
    {
        { [2, 6, 5, 8], [0, 0, 0, 4], [1, 1, 1, 1], [2, 6, 5, 4] },   // the second half of the channels (ShuffleNet's split)
        { [1, 7, 9, 3], [0, 1, 2, 0], [1, 2, 3, 1], [1, 3, 3, 3] },   // strided rows and columns
        { [4, 10], [1, 1], [2, 3], [2, 3] },                          // a strided last axis
        { [3, 5, 2], [2, 0, 1], [1, 1, 1], [1, 5, 1] },
        { [12], [3], [4], [3] },
        { [1, 2, 3, 2, 3, 2, 1, 2], [0, 1, 1, 0, 2, 1, 0, 1], [1, 1, 2, 1, 1, 1, 1, 1], [1, 1, 1, 2, 1, 1, 1, 1] },
    };

    [Theory]
    [MemberData(nameof(Slices))]
    public void Slice_CopiesTheStridedBox_Float32AndInt8(int[] shape, int[] begin, int[] step, int[] outShape)
    {
        int count = KernelAssert.Count(shape), rank = shape.Length;
        float[] x = [.. Enumerable.Range(0, count).Select(i => (float)i)];
        float[] y = KernelAssert.RunEveryPath(OpCode.Slice, new SliceOptions(begin, step), [TestTensor.Input(shape, x)], outShape);

        var expected = new float[KernelAssert.Count(outShape)];
        var index = new int[rank];
        for (int i = 0; i < expected.Length; i++)
        {
            int rest = i, source = 0;
            for (int d = rank - 1; d >= 0; d--)
            {
                index[d] = rest % outShape[d];
                rest /= outShape[d];
            }

            for (int d = 0; d < rank; d++)
            {
                source = source * shape[d] + begin[d] + index[d] * step[d];
            }

            expected[i] = source;
        }

        Assert.Equal(expected, y);

        sbyte[] q = [.. x.Select(v => (sbyte)((int)v % 251 - 125))];
        sbyte[] yq = KernelRunner.RunInt8(OpCode.Slice, new SliceOptions(begin, step), [TestTensor.Int8(shape, q, 0.5f, 3)], TestTensor.Int8Output(outShape, 0.5f, 3));
        Assert.Equal(expected.Select(v => q[(int)v]), yq);
    }

    [Fact]
    public void Slice_ABoxOutsideTheInput_OrADifferentQuantization_IsRefused()
    {
        TestTensor x = TestTensor.Input([2, 6], new float[12]);
        KernelAssert.Refused(OpCode.Slice, new SliceOptions([0, 4], [1, 1]), [x], TestTensor.Output([2, 3]));   // 4..6 leaves the row
        KernelAssert.Refused(OpCode.Slice, new SliceOptions([0, 0], [1, 0]), [x], TestTensor.Output([2, 3]));   // step 0
        KernelAssert.Refused(OpCode.Slice, new SliceOptions([0, -1], [1, 1]), [x], TestTensor.Output([2, 3]));  // negative begin
        KernelAssert.Refused(OpCode.Slice, new SliceOptions([0], [1]), [x], TestTensor.Output([2, 3]));         // rank
        KernelAssert.Refused(OpCode.Slice, new SliceOptions([0, 1], [1, 3]), [x], TestTensor.Output([2, 3]));   // 1 + 2·3 = 7 > 5
        TestTensor q = TestTensor.Int8([2, 6], new sbyte[12], 0.5f, 3);
        KernelAssert.Refused(OpCode.Slice, new SliceOptions([0, 0], [1, 2]), [q], TestTensor.Int8Output([2, 3], 0.25f, 3));
    }

    public static TheoryData<int[][], int> Concats => new()
    {
        { [[2, 3], [4, 3]], 0 },
        { [[2, 3, 4], [2, 1, 4], [2, 5, 4]], 1 },
        { [[1, 4, 5, 3], [1, 4, 5, 8], [1, 4, 5, 1]], 3 },
        { [[2, 2, 3, 2], [2, 2, 1, 2]], 2 },
        { [[7]], 0 },
    };

    [Theory]
    [MemberData(nameof(Concats))]
    public void Concat_JoinsAlongTheAxis_WithConstantInputs(int[][] shapes, int axis)
    {
        int value = 0;
        var inputs = new TestTensor?[shapes.Length];
        var data = new float[shapes.Length][];
        for (int i = 0; i < shapes.Length; i++)
        {
            data[i] = [.. Enumerable.Range(0, KernelAssert.Count(shapes[i])).Select(_ => (float)value++)];
            inputs[i] = i % 2 == 1 ? TestTensor.Const(shapes[i], data[i]) : TestTensor.Input(shapes[i], data[i]);
        }

        int[] outShape = [.. shapes[0]];
        outShape[axis] = shapes.Sum(s => s[axis]);
        float[] y = KernelAssert.RunEveryPath(OpCode.Concat, new ConcatOptions(axis), inputs, outShape);

        // Reference: for each outer index, each input's slab in order.
        int outer = outShape[..axis].Aggregate(1, (a, d) => a * d);
        var expected = new List<float>();
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < shapes.Length; i++)
            {
                int slab = shapes[i][axis..].Aggregate(1, (a, d) => a * d);
                expected.AddRange(data[i].Skip(o * slab).Take(slab));
            }
        }

        Assert.Equal(expected, y);
    }

    [Fact]
    public void Concat_TheSameInputTwice_IsTiled()
    {
        float[] x = [1, 2, 3, 4, 5, 6];
        using Model model = Model.FromBytes(TiledConcat(), "tile.eim");
        var interpreter = new Interpreter(model);
        x.AsSpan().CopyTo(interpreter.Input(0).AsSpan<float>());
        interpreter.Invoke();
        Assert.Equal([1f, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6], interpreter.Output(0).ToFloatArray());
    }

    [Fact]
    public void Concat_Malformed_IsRefused()
    {
        TestTensor a = TestTensor.Input([2, 3], new float[6]);
        TestTensor b = TestTensor.Input([2, 4], new float[8]);
        KernelAssert.Refused(OpCode.Concat, new ConcatOptions(0), [a, b], TestTensor.Output([4, 3]));   // axis 1 differs
        KernelAssert.Refused(OpCode.Concat, new ConcatOptions(1), [a, b], TestTensor.Output([2, 8]));   // sizes add to 7
        KernelAssert.Refused(OpCode.Concat, new ConcatOptions(2), [a, b], TestTensor.Output([2, 7]));   // axis out of range
        KernelAssert.Refused(OpCode.Concat, new ConcatOptions(-1), [a, b], TestTensor.Output([2, 7]));
        KernelAssert.Refused(OpCode.Concat, new ConcatOptions(0), [a, TestTensor.Input([6], new float[6])], TestTensor.Output([4, 3]));
    }

    [Fact]
    public void Reshape_CopiesTheBytes_AndRefusesAnotherCount()
    {
        float[] x = KernelAssert.Random(new Random(1), 24);
        float[] y = KernelAssert.RunEveryPath(OpCode.Reshape, null, [TestTensor.Input([2, 3, 4], x)], [6, 4]);
        Assert.Equal(x, y);
        KernelAssert.Refused(OpCode.Reshape, null, [TestTensor.Input([2, 3, 4], x)], TestTensor.Output([5, 5]));
        KernelAssert.Refused(OpCode.Reshape, null, [TestTensor.Input([2, 3, 4], x)], TestTensor.Output([24], DataType.Int32));
    }

    private static byte[] TiledConcat()
    {
        var w = new ModelWriter("tile");
        int input = w.AddArenaTensor("x", DataType.Float32, [2, 3], 0);
        int output = w.AddArenaTensor("y", DataType.Float32, [2, 6], 64);
        w.ArenaBytes = 128;
        w.AddNode(OpCode.Concat, "tile", [input, input], [output], new ConcatOptions(1));
        w.AddInput(input);
        w.AddOutput(output);
        return w.ToArray();
    }
}
