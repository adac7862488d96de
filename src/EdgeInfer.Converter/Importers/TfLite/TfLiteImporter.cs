using System.Globalization;
using System.Security.Cryptography;
using EdgeInfer.Converter.Ir;
using Google.FlatBuffers;
using Model = EdgeInfer.Converter.Importers.TfLite.Schema.Model;
using Operator = EdgeInfer.Converter.Importers.TfLite.Schema.Operator;
using OperatorCode = EdgeInfer.Converter.Importers.TfLite.Schema.OperatorCode;
using QuantizationDetails = EdgeInfer.Converter.Importers.TfLite.Schema.QuantizationDetails;
using SubGraph = EdgeInfer.Converter.Importers.TfLite.Schema.SubGraph;
using Tensor = EdgeInfer.Converter.Importers.TfLite.Schema.Tensor;

namespace EdgeInfer.Converter.Importers.TfLite;

/// <summary>
/// Reads a TensorFlow Lite model (.tflite, schema version 3) into a lowered <see cref="Graph"/>. TFLite already speaks
/// EdgeInfer's language — NHWC activations, OHWI convolution weights, [N, K] dense weights, fused output activations,
/// and int8 quantization with TFLite's integer arithmetic, which the int8 kernels implement bit for bit — so each
/// operator becomes an EdgeInfer operator directly (<see cref="TfLiteOperators"/>), with no layout pass. An int8 model
/// keeps its quantization as it is: its scales and zero points become the .eim's, and the runtime computes the same
/// multipliers TFLite does.
/// <para>The buffer is verified as a FlatBuffer before anything is read (<see cref="TfLiteVerifier"/>); then every
/// index, shape and buffer length is checked before use, so a damaged or hostile file is a
/// <see cref="ConversionException"/> naming the file and the problem.</para>
/// </summary>
public static class TfLiteImporter
{
    /// <summary>The schema version the importer reads (the one every current converter writes).</summary>
    public const uint SchemaVersion = 3;

    /// <exception cref="ConversionException">The file is unreadable, not a TFLite model, or holds something EdgeInfer cannot convert.</exception>
    public static Graph Import(string path, ConvertOptions options, Action<string> note)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Import(SourceFile.ReadAll(path), path, note);
    }

    /// <summary>Imports a model held in memory; <paramref name="source"/> names it in messages and metadata.</summary>
    public static Graph Import(byte[] bytes, string source, Action<string> note)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(note);
        if (bytes.Length < 8 || bytes[4] != 'T' || bytes[5] != 'F' || bytes[6] != 'L' || bytes[7] != '3')
        {
            throw new ConversionException($"{source}: not a TensorFlow Lite model (no 'TFL3' identifier at byte 4)");
        }

        if (!TfLiteVerifier.Verify(bytes))
        {
            throw new ConversionException($"{source}: the TFLite FlatBuffer is damaged (an offset, length or table lies outside the file)");
        }

        Model model = Model.GetRootAsModel(new ByteBuffer(bytes));
        if (model.Version != SchemaVersion)
        {
            throw new ConversionException($"{source}: TFLite schema version {model.Version} is not supported (EdgeInfer reads version {SchemaVersion})");
        }

        if (model.SubgraphsLength == 0)
        {
            throw new ConversionException($"{source}: the TFLite model has no subgraph");
        }

        var graph = new Graph(Path.GetFileNameWithoutExtension(source), source);
        graph.Metadata["source"] = Path.GetFileName(source);
        graph.Metadata["source_sha256"] = Convert.ToHexStringLower(SHA256.HashData(bytes));
        graph.Metadata["source_format"] = "tflite";
        graph.Metadata["tflite_schema_version"] = model.Version.ToString(CultureInfo.InvariantCulture);
        if (model.Description is { Length: > 0 } description)
        {
            graph.Metadata["producer"] = description;
        }

        var builder = new TfLiteGraphBuilder(graph, model, source);
        builder.Build();
        string extra = model.SubgraphsLength > 1 ? $"; {model.SubgraphsLength - 1} more subgraph(s) ignored, as no imported operator calls one" : "";
        note($"imported {builder.OperatorCount} TFLite operators ({builder.TensorCount} tensors{extra})");
        return graph;
    }
}

/// <summary>Builds the graph of the first subgraph: values for tensors, then one or more lowered nodes per operator.</summary>
internal sealed class TfLiteGraphBuilder(Graph graph, Model model, string source)
{
    private readonly SubGraph _subgraph = model.Subgraphs(0)!.Value;
    private readonly UniqueNames _valueNames = new();
    private Value?[] _values = [];
    private readonly HashSet<int> _variables = [];

    public int OperatorCount => _subgraph.OperatorsLength;
    public int TensorCount => _subgraph.TensorsLength;
    public Graph Graph => graph;

    public void Build()
    {
        // The .eim format's own bounds, checked before anything is built per tensor or operator.
        if (_subgraph.TensorsLength > FormatConstants.MaxTensors || _subgraph.OperatorsLength > FormatConstants.MaxNodes / 2)
        {
            throw Problem($"the subgraph has {_subgraph.TensorsLength} tensors and {_subgraph.OperatorsLength} operators; a model holds at most {FormatConstants.MaxTensors} tensors and {FormatConstants.MaxNodes / 2} operators");
        }

        _values = new Value?[_subgraph.TensorsLength];
        for (int i = 0; i < _subgraph.InputsLength; i++)
        {
            Value input = Tensor(_subgraph.Inputs(i), "graph input");
            if (IsVariable(_subgraph.Inputs(i)))
            {
                throw Problem($"graph input '{input.Name}' is a variable (state kept between invocations); EdgeInfer graphs are stateless");
            }

            if (input.IsConstant)
            {
                throw Problem($"graph input '{input.Name}' has data; a model input must be fed at run time");
            }

            graph.Inputs.Add(input);
        }

        var operators = new TfLiteOperators(this);
        operators.CountReaders(_values.Length, Enumerable.Range(0, _subgraph.OperatorsLength)
            .SelectMany(i => _subgraph.Operators(i)!.Value.GetInputsArray() ?? [])
            .Concat(Enumerable.Range(0, _subgraph.OutputsLength).Select(i => _subgraph.Outputs(i))));
        for (int i = 0; i < _subgraph.OperatorsLength; i++)
        {
            operators.Import(i, _subgraph.Operators(i)!.Value);
        }

        for (int i = 0; i < _subgraph.OutputsLength; i++)
        {
            Value output = Tensor(_subgraph.Outputs(i), "graph output");
            if (!operators.Writes(_subgraph.Outputs(i)) || graph.Outputs.Contains(output))
            {
                throw Problem($"graph output '{output.Name}' is not written by any operator, or is listed twice");
            }

            graph.Outputs.Add(output);
        }

        if (graph.Inputs.Count == 0 || graph.Outputs.Count == 0)
        {
            throw Problem("the subgraph has no inputs or no outputs");
        }
    }

    /// <summary>The builtin operator code of operator <paramref name="op"/> (the larger of the two code fields, as TFLite reads it).</summary>
    public int BuiltinCode(Operator op, int index, out string? customCode)
    {
        if (op.OpcodeIndex >= model.OperatorCodesLength)
        {
            throw Problem($"operator {index}: opcode index {op.OpcodeIndex} is out of range ({model.OperatorCodesLength} operator codes)");
        }

        OperatorCode code = model.OperatorCodes((int)op.OpcodeIndex)!.Value;
        customCode = code.CustomCode;
        return Math.Max(code.DeprecatedBuiltinCode, code.BuiltinCode);
    }

    /// <summary>The value of tensor <paramref name="index"/>, made once: its type, shape, quantization and, for constants, data.</summary>
    public Value Tensor(int index, string role)
    {
        if ((uint)index >= (uint)_values.Length)
        {
            throw Problem($"{role} refers to tensor {index}, but the subgraph has {_values.Length} tensors");
        }

        return _values[index] ??= MakeValue(index);
    }

    /// <summary>
    /// The single scale of an int32 tensor (its record is dropped from the value: the int8 kernels derive a bias's scale
    /// from their operands), or null. The integer LSTM's gate biases need it to be read as floats.
    /// </summary>
    public float? Int32Scale(int index)
        => (uint)index < (uint)_subgraph.TensorsLength && _subgraph.Tensors(index)!.Value.Quantization is { ScaleLength: 1 } q ? q.Scale(0) : null;

    /// <summary>Whether tensor <paramref name="index"/> is a TFLite variable (state kept between invocations).</summary>
    public bool IsVariable(int index) => _variables.Contains(index);

    /// <summary>A tensor that an operator writes: it must not be a constant or a graph input, and is written once.</summary>
    public Value OutputTensor(int index, HashSet<int> written)
    {
        Value v = Tensor(index, "an operator output");
        if (v.IsConstant || graph.Inputs.Contains(v) || !written.Add(index))
        {
            throw Problem($"tensor '{v.Name}' is written by more than one operator, or is a constant or graph input");
        }

        return v;
    }

    public ConversionException Problem(string problem) => new($"{source}: {problem}");

    /// <summary>A value name not used yet: the stem, or the stem with a numbered suffix.</summary>
    public string NewValueName(string stem) => _valueNames.Take(stem);

    private Value MakeValue(int index)
    {
        Tensor t = _subgraph.Tensors(index)!.Value;
        string name = string.IsNullOrEmpty(t.Name) ? $"tensor_{index}" : t.Name;
        if (t.Sparsity is not null)
        {
            throw Problem($"tensor '{name}' is stored sparse; EdgeInfer reads dense TFLite tensors");
        }

        if (t.ShapeLength > FormatConstants.MaxRank)
        {
            throw Problem($"tensor '{name}' has rank {t.ShapeLength}; at most {FormatConstants.MaxRank} is supported");
        }

        var shape = new int[t.ShapeLength];
        long elements = 1;
        for (int d = 0; d < shape.Length; d++)
        {
            shape[d] = t.Shape(d);
            if (shape[d] < 1)
            {
                throw Problem($"tensor '{name}' has dimension {d} = {shape[d]}; every dimension must be fixed and at least 1 (dynamic shapes are not supported)");
            }

            elements *= shape[d];
            if (elements > int.MaxValue)
            {
                throw Problem($"tensor '{name}' has more than {int.MaxValue} elements");
            }
        }

        if (t.IsVariable)
        {
            return Variable(index, t, name, shape);
        }

        DataType type = t.Type switch
        {
            0 => DataType.Float32,
            2 => DataType.Int32,
            4 => DataType.Int64,
            9 => DataType.Int8,
            _ => throw Problem($"tensor '{name}' has TFLite type {TypeName(t.Type)}; EdgeInfer reads float32, int8, int32 and int64 tensors"),
        };

        var value = new Value(NewValueName(name), type, shape, Data(t, name, type, elements))
        {
            Quantization = Quantization(t, name, type, shape),
        };
        return value;
    }

    /// <summary>
    /// A variable (state kept between invocations). Only a recurrence's initial state may be one (TfLiteOperators
    /// checks who reads it), and it must start at zero, whatever its type (an int8 LSTM keeps an int16 cell state):
    /// EdgeInfer starts every inference from the zero state. Its value carries the shape only; it is never emitted.
    /// </summary>
    private Value Variable(int index, Tensor t, string name, int[] shape)
    {
        if (t.Buffer >= model.BuffersLength)
        {
            throw Problem($"tensor '{name}' refers to buffer {t.Buffer}, but the model has {model.BuffersLength} buffers");
        }

        if (t.Buffer != 0 && model.Buffers((int)t.Buffer)!.Value.GetDataBytes() is { } bytes && bytes.AsSpan().ContainsAnyExcept((byte)0))
        {
            throw Problem($"tensor '{name}' is a variable with a non-zero initial value; EdgeInfer starts every inference from the zero state");
        }

        _variables.Add(index);
        return new Value(NewValueName(name), DataType.Float32, shape);
    }

    private TensorData? Data(Tensor t, string name, DataType type, long elements)
    {
        if (t.Buffer == 0)
        {
            return null; // buffer 0 is the empty sentinel: an activation
        }

        if (t.Buffer >= model.BuffersLength)
        {
            throw Problem($"tensor '{name}' refers to buffer {t.Buffer}, but the model has {model.BuffersLength} buffers");
        }

        EdgeInfer.Converter.Importers.TfLite.Schema.Buffer buffer = model.Buffers((int)t.Buffer)!.Value;
        if (buffer.Offset > 1)
        {
            throw Problem($"tensor '{name}' keeps its data outside the FlatBuffer (a model over 2 GB); EdgeInfer reads data held in the buffer");
        }

        if (buffer.DataLength == 0)
        {
            return null; // an activation with its own empty buffer
        }

        long expected = elements * DataTypes.SizeOf(type);
        if (buffer.DataLength != expected)
        {
            throw Problem($"tensor '{name}' has {buffer.DataLength} bytes of data, but its shape and type need {expected}");
        }

        ArraySegment<byte> bytes = buffer.GetDataBytes()!.Value;
        return new TensorData(type, bytes.ToArray());
    }

    private QuantizationInfo? Quantization(Tensor t, string name, DataType type, int[] shape)
    {
        if (t.Quantization is not { } q || q.ScaleLength == 0)
        {
            return null;
        }

        if (q.DetailsType != QuantizationDetails.NONE)
        {
            throw Problem($"tensor '{name}' uses custom quantization; EdgeInfer reads scale and zero-point quantization");
        }

        int channels = q.ScaleLength;
        if (q.ZeroPointLength != channels)
        {
            throw Problem($"tensor '{name}' has {channels} scales but {q.ZeroPointLength} zero points");
        }

        if (type != DataType.Int8)
        {
            // int32 biases carry a scale of input × weight scale and zero point 0 by definition; the int8 kernels derive
            // it from their operands, as TFLite's do, so the record is checked and dropped.
            for (int c = 0; c < channels; c++)
            {
                if (q.ZeroPoint(c) != 0 && type == DataType.Int32)
                {
                    throw Problem($"int32 tensor '{name}' has zero point {q.ZeroPoint(c)}; int32 (bias) quantization is symmetric");
                }
            }

            return null;
        }

        int axis = -1;
        if (channels > 1)
        {
            axis = q.QuantizedDimension;
            if (axis < 0 || axis >= shape.Length || shape[axis] != channels)
            {
                throw Problem($"tensor '{name}' has {channels} per-channel scales along dimension {axis}, which does not match its shape [{string.Join(",", shape)}]");
            }
        }

        var scales = new float[channels];
        var zeroPoints = new int[channels];
        for (int c = 0; c < channels; c++)
        {
            scales[c] = q.Scale(c);
            long zp = q.ZeroPoint(c);
            if (!float.IsFinite(scales[c]) || scales[c] <= 0)
            {
                throw Problem($"tensor '{name}' has scale {scales[c]}; scales must be finite and positive");
            }

            if (zp < sbyte.MinValue || zp > sbyte.MaxValue)
            {
                throw Problem($"tensor '{name}' has zero point {zp}, outside the int8 range");
            }

            zeroPoints[c] = (int)zp;
        }

        return new QuantizationInfo(scales, zeroPoints, axis);
    }

    private static string TypeName(sbyte type) => type switch
    {
        1 => "FLOAT16",
        3 => "UINT8 (legacy asymmetric uint8 quantization; re-convert with int8)",
        5 => "STRING",
        6 => "BOOL",
        7 => "INT16",
        8 => "COMPLEX64",
        10 => "FLOAT64",
        17 => "INT4",
        _ => type.ToString(CultureInfo.InvariantCulture),
    };
}
