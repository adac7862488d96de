using System.Runtime.InteropServices;
using EdgeInfer.Converter.Importers.TfLite.Schema;
using Buffer = EdgeInfer.Converter.Importers.TfLite.Schema.Buffer;
using Model = EdgeInfer.Converter.Importers.TfLite.Schema.Model;
using Google.FlatBuffers;

namespace EdgeInfer.Converter.Tests.Support;

/// <summary>
/// Writes small .tflite files with the flatc-generated builders, for tests of single operators: float32 tensors
/// (constants get their own buffer; buffer 0 is TFLite's empty sentinel), int32 constants, operators with options.
/// </summary>
internal sealed class TfLiteModelBuilder
{
    private readonly List<(string Name, int[] Shape, sbyte Type, byte[]? Data)> _tensors = [];
    private readonly HashSet<int> _variables = [];
    private readonly List<(int Code, int[] Inputs, int[] Outputs, BuiltinOptions Type, Func<FlatBufferBuilder, int>? Options)> _ops = [];

    public int Float(string name, int[] shape, float[]? data = null)
    {
        _tensors.Add((name, shape, 0, data is null ? null : MemoryMarshal.AsBytes(data.AsSpan()).ToArray()));
        return _tensors.Count - 1;
    }

    /// <summary>A float32 variable (state kept between invocations), with initial values or none.</summary>
    public int Variable(string name, int[] shape, float[]? data = null)
    {
        int index = Float(name, shape, data);
        _variables.Add(index);
        return index;
    }

    /// <summary>An int8 constant of zeros, without quantization parameters.</summary>
    public int Int8Const(string name, int[] shape)
    {
        _tensors.Add((name, shape, 9, new byte[shape.Aggregate(1, (a, d) => a * d)]));
        return _tensors.Count - 1;
    }

    public int Int32(string name, int[] data)
    {
        _tensors.Add((name, [data.Length], 2, MemoryMarshal.AsBytes(data.AsSpan()).ToArray()));
        return _tensors.Count - 1;
    }

    public void Op(int code, int[] inputs, int[] outputs, BuiltinOptions type = BuiltinOptions.NONE, Func<FlatBufferBuilder, int>? options = null)
        => _ops.Add((code, inputs, outputs, type, options));

    public byte[] Build(int[] inputs, int[] outputs)
    {
        var b = new FlatBufferBuilder(1024);
        var buffers = new List<Offset<Buffer>> { Buffer.CreateBuffer(b) };
        var tensors = new Offset<Tensor>[_tensors.Count];
        for (int i = 0; i < _tensors.Count; i++)
        {
            (string name, int[] shape, sbyte type, byte[]? data) = _tensors[i];
            uint buffer = 0;
            if (data is not null)
            {
                VectorOffset bytes = Buffer.CreateDataVector(b, data);
                buffers.Add(Buffer.CreateBuffer(b, bytes));
                buffer = (uint)(buffers.Count - 1);
            }

            tensors[i] = Tensor.CreateTensor(b, Tensor.CreateShapeVector(b, shape), type, buffer, b.CreateString(name), is_variable: _variables.Contains(i));
        }

        int[] codes = [.. _ops.Select(o => o.Code).Distinct()];
        var opcodes = codes.Select(c => OperatorCode.CreateOperatorCode(b, (sbyte)Math.Min(c, 127), builtin_code: c)).ToArray();
        var ops = new Offset<Operator>[_ops.Count];
        for (int i = 0; i < _ops.Count; i++)
        {
            var op = _ops[i];
            int options = op.Options?.Invoke(b) ?? 0;
            ops[i] = Operator.CreateOperator(b, (uint)Array.IndexOf(codes, op.Code), Operator.CreateInputsVector(b, op.Inputs),
                Operator.CreateOutputsVector(b, op.Outputs), op.Type, options);
        }

        var subgraph = SubGraph.CreateSubGraph(b, SubGraph.CreateTensorsVector(b, tensors), SubGraph.CreateInputsVector(b, inputs),
            SubGraph.CreateOutputsVector(b, outputs), SubGraph.CreateOperatorsVector(b, ops), b.CreateString("main"));
        var model = Model.CreateModel(b, 3, Model.CreateOperatorCodesVector(b, opcodes), Model.CreateSubgraphsVector(b, [subgraph]),
            b.CreateString("EdgeInfer test"), Model.CreateBuffersVector(b, [.. buffers]));
        Model.FinishModelBuffer(b, model);
        return b.SizedByteArray();
    }
}
