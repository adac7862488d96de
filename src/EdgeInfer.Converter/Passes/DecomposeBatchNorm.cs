using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Passes;

// Turns each BatchNormalization that FoldBatchNorm could not fold (its producer is not a Conv/Gemm/MatMul with
// constant weights, or has other readers) into y = x·s + t: a Mul and an Add with per-channel constants shaped
// [C, 1, ..., 1], which broadcast over x [N, C, ...]. Lowering then treats them as ordinary elementwise operators
// (re-laying the constants out for channels-last activations). Both are exact float32 operations in the same order
// ONNX Runtime's kernel uses.

public static class DecomposeBatchNorm
{
    public static void Run(Graph graph, Action<string> note)
    {
        int count = 0;
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            Node bn = graph.Nodes[i];
            if (bn.OpType != "BatchNormalization")
            {
                continue;
            }

            (float[] s, float[] t, int[] paramShape) = BatchNormMath.Affine(graph, bn);
            Value x = bn.Input(0);
            int rank = x.Shape!.Length;
            int[] shape = paramShape.Length == 1 && rank > 2 ? [paramShape[0], .. Enumerable.Repeat(1, rank - 2)] : paramShape;
            Value scale = Value.Floats(graph.UniqueName(bn.Name + "_scale"), shape, s);
            Value shift = Value.Floats(graph.UniqueName(bn.Name + "_shift"), shape, t);
            var scaled = new Value(graph.UniqueName(bn.Name + "_scaled"), x.Type, x.Shape);
            int opset = Math.Max(bn.OpsetVersion, 7);
            graph.Nodes[i] = new Node(graph.UniqueName(bn.Name + "_mul"), "Mul", [x, scale], [scaled]) { OpsetVersion = opset };
            graph.Nodes.Insert(i + 1, new Node(graph.UniqueName(bn.Name + "_add"), "Add", [scaled, shift], [bn.Output(0)]) { OpsetVersion = opset });
            count++;
        }

        if (count > 0)
        {
            note($"rewrote {count} BatchNormalization as per-channel Mul and Add");
        }
    }
}
