namespace EdgeInfer.Converter.Importers;

/// <summary>Reading a source model file, with the failure every importer reports the same way.</summary>
internal static class SourceFile
{
    /// <exception cref="ConversionException">The file cannot be read; the message names it.</exception>
    public static byte[] ReadAll(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConversionException($"{path}: cannot read the file ({e.Message})", e);
        }
    }
}
