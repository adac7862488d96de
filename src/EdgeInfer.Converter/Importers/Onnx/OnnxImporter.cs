using EdgeInfer.Converter.Ir;

namespace EdgeInfer.Converter.Importers.Onnx;

/// <summary>ONNX → lowered EdgeInfer graph. (Placeholder until the importer lands.)</summary>
public static class OnnxImporter
{
    public static Graph Import(string path, ConvertOptions options, Action<string> note)
        => throw new ConversionException($"{path}: the ONNX importer is not built yet");
}
