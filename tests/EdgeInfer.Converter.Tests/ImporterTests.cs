using System.Security.Cryptography;
using EdgeInfer.Converter.Importers.Onnx;
using EdgeInfer.Converter.Importers.Onnx.Proto;
using EdgeInfer.Converter.Ir;
using EdgeInfer.Converter.Tests.Support;
using EdgeInfer.Format;
using Google.Protobuf;

namespace EdgeInfer.Converter.Tests;

public class ImporterTests
{
    private static Graph Import(OnnxBuilder b, string source = "model.onnx") => OnnxImporter.Import(b.ToBytes(), source, _ => { });

    [Fact]
    public void Import_InitializerTypes_AreWidenedOrNarrowedToIrTypes()
    {
        var half = new TensorProto { Name = "half", DataType = (int)TensorProto.Types.DataType.Float16 };
        half.Dims.Add(2);
        half.Int32Data.AddRange([BitConverter.HalfToUInt16Bits((Half)1.5f), BitConverter.HalfToUInt16Bits((Half)(-2f))]);
        var dbl = new TensorProto { Name = "dbl", DataType = (int)TensorProto.Types.DataType.Double };
        dbl.Dims.Add(2);
        dbl.DoubleData.AddRange([0.25, -3.5]);
        var i32 = new TensorProto { Name = "i32", DataType = (int)TensorProto.Types.DataType.Int32, RawData = ByteString.CopyFrom(BitConverter.GetBytes(-7)) };
        i32.Dims.Add(1);
        var i8 = new TensorProto { Name = "i8", DataType = (int)TensorProto.Types.DataType.Int8 };
        i8.Dims.Add(2);
        i8.Int32Data.AddRange([-128, 127]);
        var u8 = new TensorProto { Name = "u8", DataType = (int)TensorProto.Types.DataType.Uint8, RawData = ByteString.CopyFrom(200, 3) };
        u8.Dims.Add(2);
        var flag = new TensorProto { Name = "flag", DataType = (int)TensorProto.Types.DataType.Bool };
        flag.Dims.Add(2);
        flag.Int32Data.AddRange([1, 0]);
        var floats = new TensorProto { Name = "floats", DataType = (int)TensorProto.Types.DataType.Float };
        floats.Dims.AddRange([1, 2]);
        floats.FloatData.AddRange([1f, 2f]);

        var b = new OnnxBuilder().Input("x", 1).Output("x");
        foreach (TensorProto t in new[] { half, dbl, i32, i8, u8, flag, floats })
        {
            b.Initializer(t);
        }

        b.Initializer("i64", [3], [1L, -2L, long.MaxValue]);
        // Initializers only a node reads survive import; read them all.
        b.Node("Concat", ["half", "dbl"], ["unused"], ("axis", 0L));
        Graph g = Import(b);
        Dictionary<string, Value> constants = g.Nodes.SelectMany(n => n.Inputs).OfType<Value>().ToDictionary(v => v.Name);
        Assert.Equal([1.5f, -2f], constants["half"].Constant!.ToFloatArray());
        Assert.Equal([0.25f, -3.5f], constants["dbl"].Constant!.ToFloatArray());

        (int[] shape, TensorData data) Read(TensorProto t) => OnnxTensors.Read(t, "test");
        Assert.Equal(DataType.Int32, Read(i32).data.Type);
        Assert.Equal([-7L], Read(i32).data.ToInt64Array());
        Assert.Equal([-128L, 127L], Read(i8).data.ToInt64Array());
        Assert.Equal(DataType.UInt8, Read(u8).data.Type);
        Assert.Equal([200L, 3L], Read(u8).data.ToInt64Array());
        Assert.Equal(DataType.Bool, Read(flag).data.Type);
        Assert.Equal([1L, 0L], Read(flag).data.ToInt64Array());
        Assert.Equal([1, 2], Read(floats).shape);
        Assert.Equal([1L, -2L, long.MaxValue], Read(OnnxBuilder.Int64s("i64", [3], [1L, -2L, long.MaxValue])).data.ToInt64Array());
    }

    [Fact]
    public void Import_ExternalData_FailsNamingTheFile()
    {
        var t = new TensorProto { Name = "w", DataType = (int)TensorProto.Types.DataType.Float, DataLocation = TensorProto.Types.DataLocation.External };
        t.Dims.Add(4);
        t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });
        var b = new OnnxBuilder().Input("x", 4).Initializer(t).Node("Add", ["x", "w"], ["y"]).Output("y");
        var e = Assert.Throws<ConversionException>(() => Import(b, "big.onnx"));
        Assert.Contains("big.onnx", e.Message);
        Assert.Contains("weights.bin", e.Message);
        Assert.Contains("external", e.Message);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(22)]
    public void Import_OpsetOutsideSixToTwentyOne_Fails(int opset)
    {
        var b = new OnnxBuilder(opset).Input("x", 2).Node("Relu", ["x"], ["y"]).Output("y");
        var e = Assert.Throws<ConversionException>(() => Import(b));
        Assert.Contains($"opset {opset}", e.Message);
    }

    [Fact]
    public void Import_NodeInOtherDomain_IsUnsupported()
    {
        var b = new OnnxBuilder().Input("x", 2).Node("FusedGemm", ["x"], ["y"]).Output("y");
        b.LastNode.Domain = "com.microsoft";
        var e = Assert.Throws<UnsupportedOperatorException>(() => Import(b));
        Assert.Contains("com.microsoft", e.Message);
        Assert.Contains("fusedgemm_0", e.Message);
    }

    [Fact]
    public void Import_Metadata_RecordsProducerOpsetAndSourceHash()
    {
        var b = new OnnxBuilder(11, producer: "pytorch").Input("x", 2).Node("Relu", ["x"], ["y"]).Output("y");
        string path = b.Save("meta");
        try
        {
            Graph g = OnnxImporter.Import(path, new ConvertOptions(), _ => { });
            Assert.Equal("pytorch 1.0", g.Metadata["producer"]);
            Assert.Equal("11", g.Metadata["onnx_opset"]);
            Assert.Equal(Path.GetFileName(path), g.Metadata["source"]);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))), g.Metadata["source_sha256"]);
            Assert.Equal(11, g.Nodes.Single().OpsetVersion);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Import_ConstantNodesAndInitializerInputs_BecomeConstants()
    {
        var b = new OnnxBuilder(13).Input("x", 2).Input("w", 2).Initializer("w", [2], [1f, 2f])
            .Node("Constant", [], ["k"], ("value_floats", new[] { 3f, 4f }))
            .Node("Add", ["x", "w"], ["a"]).Node("Mul", ["a", "k"], ["y"]).Output("y");
        Graph g = Import(b);
        Assert.Equal(["x"], g.Inputs.Select(v => v.Name));
        Assert.Equal(["Add", "Mul"], g.Nodes.Select(n => n.OpType));
        Assert.Equal([3f, 4f], g.Nodes[1].Input(1).Constant!.ToFloatArray());
        Assert.True(g.Nodes[0].Input(1).IsConstant);
    }

    [Fact]
    public void Import_NotOnnx_FailsWithFileName()
    {
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.Import([1, 2, 3, 4, 5], "junk.onnx", _ => { }));
        Assert.StartsWith("junk.onnx: ", e.Message);
    }

    [Fact]
    public void ReadFile_TensorProtoFile_ReturnsNameShapeAndValues()
    {
        string path = Path.Combine(Path.GetTempPath(), $"tensor-{Guid.NewGuid():N}.pb");
        File.WriteAllBytes(path, OnnxBuilder.Floats("input", [2, 2], [1f, 2f, 3f, 4f]).ToByteArray());
        try
        {
            OnnxTensor t = OnnxTensors.ReadFile(path);
            Assert.Equal("input", t.Name);
            Assert.Equal([2, 2], t.Shape);
            Assert.Equal([1f, 2f, 3f, 4f], t.Data.ToFloatArray());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
