using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Passes.Folding;
using EdgeInfer.Format;

namespace EdgeInfer.Converter.Tests;

/// <summary>The conversion-time evaluator on the shape arithmetic exporters emit.</summary>
public class ConstantFoldingTests
{
    private static HostTensor Ints(params long[] v) => HostTensor.Integer(DataType.Int64, [v.Length], v);

    private static HostTensor Scalar(long v) => HostTensor.Integer(DataType.Int64, [], [v]);

    private static HostTensor[] Eval(string op, (string, AttributeValue)[] attributes, params HostTensor?[] inputs)
    {
        var n = new Node("n", op, [], [new Value("y", DataType.Float32), new Value("z", DataType.Float32)]) { OpsetVersion = 13 };
        foreach ((string name, AttributeValue a) in attributes)
        {
            n.Attributes[name] = a;
        }

        return ConstantEvaluator.Evaluate(n, inputs) ?? throw new InvalidOperationException($"{op} did not fold");
    }

    [Fact]
    public void Slice_NegativeStepAndHugeEnds_FollowOnnxClamping()
    {
        HostTensor data = HostTensor.Float([6], [0, 1, 2, 3, 4, 5]);
        Assert.Equal([5f, 3f, 1f], Eval("Slice", [], data, Ints(-1), Ints(long.MinValue), Ints(0), Ints(-2))[0].Floats!);
        Assert.Equal([2f, 3f, 4f, 5f], Eval("Slice", [], data, Ints(2), Ints(long.MaxValue))[0].Floats!);
        Assert.Empty(Eval("Slice", [], data, Ints(4), Ints(2))[0].Floats!);
    }

    [Fact]
    public void Gather_NegativeIndexOnShape_PicksFromTheEnd()
    {
        HostTensor r = Eval("Gather", [("axis", new AttributeValue { Int = 0 })], Ints(1, 3, 224, 224), Scalar(-3))[0];
        Assert.Empty(r.Shape);
        Assert.Equal([3L], r.Ints!);
    }

    [Fact]
    public void ConstantOfShape_Expand_Where_Equal_FoldThePyTorchReshapeIdiom()
    {
        // PyTorch's dynamic-shape reshape: Where(Equal(shape, -1), ones, shape) fed to Expand
        HostTensor shape = Ints(2, -1);
        HostTensor ones = Eval("ConstantOfShape", [("value", new AttributeValue { Tensor = TensorData.FromInt64s([1]), TensorShape = [1] })], Ints(2))[0];
        HostTensor isMinus = Eval("Equal", [], shape, Scalar(-1))[0];
        Assert.Equal(DataType.Bool, isMinus.Type);
        HostTensor target = Eval("Where", [], isMinus, ones, shape)[0];
        Assert.Equal([2L, 1L], target.Ints!);
        HostTensor expanded = Eval("Expand", [], HostTensor.Float([1, 3], [1, 2, 3]), target)[0];
        Assert.Equal([2, 3], expanded.Shape);
        Assert.Equal([1f, 2f, 3f, 1f, 2f, 3f], expanded.Floats!);
    }

    [Fact]
    public void Range_Cast_Concat_Reshape_Unsqueeze()
    {
        Assert.Equal([0L, 3L, 6L], Eval("Range", [], Scalar(0), Scalar(8), Scalar(3))[0].Ints!);
        HostTensor cast = Eval("Cast", [("to", new AttributeValue { Int = 7 })], HostTensor.Float([2], [2.9f, -2.9f]))[0];
        Assert.Equal([2L, -2L], cast.Ints!);
        HostTensor cat = Eval("Concat", [("axis", new AttributeValue { Int = 0 })], Ints(1), Ints(-1))[0];
        Assert.Equal([1L, -1L], cat.Ints!);
        HostTensor reshaped = Eval("Reshape", [], HostTensor.Float([2, 3], [1, 2, 3, 4, 5, 6]), Ints(0, -1, 1))[0];
        Assert.Equal([2, 3, 1], reshaped.Shape);
        Assert.Equal([1, 2, 1, 3], Eval("Unsqueeze", [], HostTensor.Float([2, 3], new float[6]), Ints(0, -2))[0].Shape);
    }

    [Fact]
    public void Transpose_OfConstant_PermutesData()
    {
        HostTensor t = Eval("Transpose", [("perm", new AttributeValue { Ints = [1, 0] })], HostTensor.Float([2, 3], [1, 2, 3, 4, 5, 6]))[0];
        Assert.Equal([3, 2], t.Shape);
        Assert.Equal([1f, 4f, 2f, 5f, 3f, 6f], t.Floats!);
    }

    [Fact]
    public void IntegerDivision_Truncates_AndBroadcasts()
    {
        Assert.Equal([3L, -3L], Eval("Div", [], Ints(7, -7), Scalar(2))[0].Ints!);
        Assert.Equal([4L, 6L], Eval("Mul", [], Ints(2, 3), Scalar(2))[0].Ints!);
    }

    [Fact]
    public void UnknownOperator_IsNotFolded()
    {
        var n = new Node("n", "Conv", [], [new Value("y", DataType.Float32)]);
        Assert.Null(ConstantEvaluator.Evaluate(n, [HostTensor.Float([1], [1])]));
    }
}
