namespace EdgeInfer.Converter.Importers;

/// <summary>
/// Names made unique by a numbered suffix, in amortized constant time per name (Graph.UniqueName scans the graph,
/// which a file with a million tensors of one name would turn into 10¹² steps).
/// </summary>
internal sealed class UniqueNames
{
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _lastSuffix = new(StringComparer.Ordinal);

    public string Take(string stem)
    {
        if (_used.Add(stem))
        {
            return stem;
        }

        _lastSuffix.TryGetValue(stem, out int i);
        string name;
        do
        {
            name = $"{stem}_{++i}";
        }
        while (!_used.Add(name));
        _lastSuffix[stem] = i;
        return name;
    }
}
