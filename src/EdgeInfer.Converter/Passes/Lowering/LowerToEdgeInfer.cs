using EdgeInfer.Converter.Importers.Onnx;
using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Passes.Lowering;

// Lowers the ONNX graph to EdgeInfer operators and lays activations out channels-last on the way.
//
// The runtime's convolution and pooling work on NHWC (1-D: N,1,W,C); ONNX is NCHW. Wrapping every convolution in a
// pair of transposes would be correct and slow, so layouts are chosen per value while walking the graph once, in
// order (the idea of onnx2tf and ONNX Runtime's layout transformer, done greedily):
//   - layout-sensitive operators (Conv, pools, GlobalAveragePool, spatial ReduceMean) read and write channels-last;
//   - layout-agnostic operators (activations, Add/Sub/Mul/Div/Sum, Concat, Softmax, Pad) stay channels-last when an
//     input was computed channels-last: constants are re-laid-out at conversion time ([C,1,1] → [1,1,1,C]),
//     Concat/Softmax axes are remapped;
//   - operators that depend on the memory order (Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Gemm, MatMul) and
//     graph outputs read the ONNX layout, which LoweringContext materializes with a Transpose only where needed.
// Graph inputs and outputs therefore keep the ONNX layout the user knows. TransposeCleanup then merges and removes
// what this walk leaves redundant. Each operator's rules live in the *Lowering files beside this one.

public static class LowerToEdgeInfer
{
    public static void Run(Graph graph, Action<string> note, ConvertOptions? options = null)
    {
        var ctx = new LoweringContext(graph) { UnrollRecurrences = options?.UnrollRecurrences ?? false };
        int onnxNodes = graph.Nodes.Count;
        foreach (Node n in graph.Nodes)
        {
            ctx.Begin(n);
            foreach (Value? v in n.Inputs)
            {
                if (v is { IsConstant: false } && v.Type != DataType.Float32)
                {
                    throw ctx.Unsupported($"a {DataTypes.Name(v.Type)} activation ('{v.Name}'; EdgeInfer computes float32 tensors)");
                }
            }

            switch (n.OpType)
            {
                case "Conv":
                    ConvLowering.Conv(ctx, n);
                    break;
                case "MaxPool":
                case "AveragePool":
                    PoolLowering.Pool(ctx, n);
                    break;
                case "GlobalAveragePool":
                    PoolLowering.GlobalAverage(ctx, n);
                    break;
                case "GlobalMaxPool":
                    PoolLowering.GlobalMax(ctx, n);
                    break;
                case "ReduceMean":
                    PoolLowering.ReduceMean(ctx, n);
                    break;
                case "Gemm":
                    DenseLowering.Gemm(ctx, n);
                    break;
                case "MatMul":
                    DenseLowering.MatMul(ctx, n);
                    break;
                case "Add":
                    ElementwiseLowering.Binary(ctx, n, OpCode.Add);
                    break;
                case "Sub":
                    ElementwiseLowering.Binary(ctx, n, OpCode.Sub);
                    break;
                case "Mul":
                    ElementwiseLowering.Binary(ctx, n, OpCode.Mul);
                    break;
                case "Div":
                    ElementwiseLowering.Binary(ctx, n, OpCode.Div);
                    break;
                case "Sum":
                    ElementwiseLowering.Sum(ctx, n);
                    break;
                case "Neg":
                    ElementwiseLowering.Neg(ctx, n);
                    break;
                case "Relu":
                    ElementwiseLowering.Unary(ctx, n, OpCode.Relu, null);
                    break;
                case "Sigmoid":
                    ElementwiseLowering.Unary(ctx, n, OpCode.Sigmoid, null);
                    break;
                case "Tanh":
                    ElementwiseLowering.Unary(ctx, n, OpCode.Tanh, null);
                    break;
                case "HardSwish":
                    ElementwiseLowering.Unary(ctx, n, OpCode.HardSwish, null);
                    break;
                case "Abs":
                    ElementwiseLowering.Unary(ctx, n, OpCode.Abs, null);
                    break;
                case "Sqrt":
                    ElementwiseLowering.Unary(ctx, n, OpCode.Sqrt, null);
                    break;
                case "Exp":
                    ElementwiseLowering.Unary(ctx, n, OpCode.Exp, null);
                    break;
                case "Elu":
                    ElementwiseLowering.Unary(ctx, n, OpCode.Elu, new EluOptions(n.GetFloat("alpha", 1f), 1f));
                    break;
                case "Selu":
                    // ONNX's defaults are float32 roundings of Klambauer et al.'s α and γ.
                    ElementwiseLowering.Unary(ctx, n, OpCode.Elu, new EluOptions(n.GetFloat("alpha", 1.67326319217681884765625f), n.GetFloat("gamma", 1.05070102214813232421875f)));
                    break;
                case "LeakyRelu":
                    ElementwiseLowering.Unary(ctx, n, OpCode.LeakyRelu, new LeakyReluOptions(n.GetFloat("alpha", 0.01f)));
                    break;
                case "HardSigmoid":
                    ElementwiseLowering.Unary(ctx, n, OpCode.HardSigmoid, new HardSigmoidOptions(n.GetFloat("alpha", 0.2f), n.GetFloat("beta", 0.5f)));
                    break;
                case "Clip":
                    ElementwiseLowering.Clip(ctx, n);
                    break;
                case "PRelu":
                    ElementwiseLowering.PRelu(ctx, n);
                    break;
                case "Softmax":
                    ElementwiseLowering.Softmax(ctx, n);
                    break;
                case "LogSoftmax":
                    ElementwiseLowering.Softmax(ctx, n, OpCode.LogSoftmax);
                    break;
                case "Concat":
                    ShapeOpLowering.Concat(ctx, n);
                    break;
                case "Slice":
                    ShapeOpLowering.Slice(ctx, n);
                    break;
                case "Split":
                    ShapeOpLowering.Split(ctx, n);
                    break;
                case "Gather":
                    ShapeOpLowering.Gather(ctx, n);
                    break;
                case "LSTM":
                    RecurrentLowering.Lstm(ctx, n);
                    break;
                case "GRU":
                    RecurrentLowering.Gru(ctx, n);
                    break;
                case "Reshape":
                case "Flatten":
                case "Squeeze":
                case "Unsqueeze":
                case "Identity":
                case "Dropout":
                case "Cast":
                    ShapeOpLowering.Copy(ctx, n);
                    break;
                case "Transpose":
                    ShapeOpLowering.Transpose(ctx, n);
                    break;
                case "Pad":
                    ShapeOpLowering.Pad(ctx, n);
                    break;
                case "Tile":
                    ShapeOpLowering.Tile(ctx, n);
                    break;
                default:
                    throw OnnxOperators.NotSupported(graph, n);
            }
        }

        foreach (Value output in graph.Outputs)
        {
            if (!output.IsConstant)
            {
                ctx.Begin(graph.Nodes.LastOrDefault() ?? new Node("output", "Output", [], []));
                ctx.Onnx(output);
            }
        }

        graph.Nodes.Clear();
        graph.Nodes.AddRange(ctx.Emitted);
        int transposes = ctx.Emitted.Count(n => n.Code == OpCode.Transpose);
        note($"lowered {onnxNodes} ONNX nodes to {graph.Nodes.Count} EdgeInfer operators ({transposes} Transpose before cleanup)");
    }
}
