using System.Globalization;
using System.Text;
using System.Text.Json;

namespace EdgeInfer.Device;

/// <summary>
/// Reads device.json into a <see cref="DeviceConfig"/> with <see cref="Utf8JsonReader"/>: snake_case keys, comments
/// and trailing commas allowed, every unknown key an error (a misspelt key must not silently fall back to a default),
/// every wrong type an error naming the key and the line. No reflection, nothing for the trimmer to keep.
/// </summary>
internal ref struct DeviceConfigJson
{
    private readonly ReadOnlySpan<byte> _json;
    private readonly string _source;
    private Utf8JsonReader _reader;

    private DeviceConfigJson(ReadOnlySpan<byte> json, string source)
    {
        _json = json;
        _source = source;
        _reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
    }

    public static DeviceConfig Parse(string json, string source)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            throw new ConfigException($"{source}: the config is empty");
        }

        byte[] utf8 = Encoding.UTF8.GetBytes(json);
        var parser = new DeviceConfigJson(utf8, source);
        try
        {
            return parser.ReadDocument();
        }
        catch (JsonException e)
        {
            // The reader's own syntax errors carry a 0-based line.
            string where = e.LineNumber is long line ? $":{line + 1}" : string.Empty;
            string message = e.Message;
            int end = message.IndexOfAny(['\r', '\n']);
            throw new ConfigException($"{source}{where}: {(end < 0 ? message : message[..end])}", e);
        }
    }

    private DeviceConfig ReadDocument()
    {
        if (!_reader.Read())
        {
            throw Error("the config is empty");
        }

        if (_reader.TokenType == JsonTokenType.Null)
        {
            throw Error("the config is empty (null)");
        }

        var c = new DeviceConfig();
        AtObject("the config");
        while (NextKey(out string key))
        {
            switch (key)
            {
                case "model": c.Model = String(key); break;
                case "sensor": c.Sensor = ReadSensor(); break;
                case "sample_rate_hz": c.SampleRateHz = Number(key); break;
                case "window": c.Window = Integer(key); break;
                case "hop": c.Hop = Integer(key); break;
                case "layout": c.Layout = String(key); break;
                case "preprocessing": c.Preprocessing = ReadPreprocessing(); break;
                case "classes": c.Classes = Strings(key); break;
                case "outputs": c.Outputs = ReadOutputs(); break;
                case "faults": c.Faults = ReadFaults(); break;
                case "status_interval_s": c.StatusIntervalS = Number(key); break;
                case "trusted_keys": c.TrustedKeys = Strings(key); break;
                default: throw Unknown(key, "the config");
            }
        }

        if (_reader.Read())
        {
            throw Error("unexpected content after the config object");
        }

        return c;
    }

    private SensorConfig ReadSensor()
    {
        var s = new SensorConfig();
        BeginObject("sensor");
        while (NextKey(out string key))
        {
            switch (key)
            {
                case "type": s.Type = String(key); break;
                case "bus": s.Bus = Integer(key); break;
                case "address": s.Address = Address(key); break;
                case "channels": s.Channels = Strings(key); break;
                case "accel_range_g": s.AccelRangeG = Integer(key); break;
                case "gyro_range_dps": s.GyroRangeDps = Integer(key); break;
                case "oversampling": s.Oversampling = Integer(key); break;
                case "stuck_limit": s.StuckLimit = Integer(key); break;
                case "min": s.Min = Floats(key); break;
                case "max": s.Max = Floats(key); break;
                default: throw Unknown(key, "sensor");
            }
        }

        return s;
    }

    private PreprocessingConfig ReadPreprocessing()
    {
        var p = new PreprocessingConfig();
        BeginObject("preprocessing");
        while (NextKey(out string key))
        {
            switch (key)
            {
                case "mean": p.Mean = Floats(key); break;
                case "std": p.Std = Floats(key); break;
                case "scale": p.Scale = Floats(key); break;
                case "offset": p.Offset = Floats(key); break;
                default: throw Unknown(key, "preprocessing");
            }
        }

        return p;
    }

    private OutputsConfig ReadOutputs()
    {
        var o = new OutputsConfig();
        BeginObject("outputs");
        while (NextKey(out string key))
        {
            switch (key)
            {
                case "stdout": o.Stdout = Boolean(key); break;
                case "gpio": o.Gpio = ReadGpioList(); break;
                default: throw Unknown(key, "outputs");
            }
        }

        return o;
    }

    private GpioOutputConfig[] ReadGpioList()
    {
        Expect(JsonTokenType.StartArray, "outputs.gpio", "a list of pins");
        var list = new List<GpioOutputConfig>();
        while (Next() != JsonTokenType.EndArray)
        {
            var g = new GpioOutputConfig();
            AtObject("outputs.gpio entry");
            while (NextKey(out string key))
            {
                switch (key)
                {
                    case "pin": g.Pin = Integer(key); break;
                    case "chip": g.Chip = Integer(key); break;
                    case "class": g.Class = String(key); break;
                    case "score": g.Score = Integer(key); break;
                    case "threshold": g.Threshold = (float)Number(key); break;
                    case "active_low": g.ActiveLow = Boolean(key); break;
                    default: throw Unknown(key, "outputs.gpio entry");
                }
            }

            list.Add(g);
        }

        return [.. list];
    }

    private FaultConfig ReadFaults()
    {
        var f = new FaultConfig();
        BeginObject("faults");
        while (NextKey(out string key))
        {
            switch (key)
            {
                case "max_retries": f.MaxRetries = Integer(key); break;
                case "retry_backoff_ms": f.RetryBackoffMs = Number(key); break;
                case "lateness_tolerance": f.LatenessTolerance = Number(key); break;
                default: throw Unknown(key, "faults");
            }
        }

        return f;
    }

    /// <summary>Reads the next token, which must open an object.</summary>
    private void BeginObject(string what)
    {
        Next();
        AtObject(what);
    }

    private readonly void AtObject(string what)
    {
        if (_reader.TokenType != JsonTokenType.StartObject)
        {
            throw Error($"{what} must be an object, found {Describe()}");
        }
    }

    /// <summary>Moves to the next key of the current object; false at its end. The value is read by the caller.</summary>
    private bool NextKey(out string key)
    {
        JsonTokenType t = Next();
        if (t == JsonTokenType.EndObject)
        {
            key = string.Empty;
            return false;
        }

        key = _reader.GetString()!;
        return true;
    }

    private readonly string Where()
    {
        int end = (int)Math.Min(_reader.TokenStartIndex, _json.Length);
        return $"{_source}:{_json[..end].Count((byte)'\n') + 1}";
    }

    private readonly ConfigException Error(string problem) => new($"{Where()}: {problem}");

    private readonly ConfigException Unknown(string key, string where) => Error($"unknown key \"{key}\" in {where}");

    private JsonTokenType Next()
    {
        if (!_reader.Read())
        {
            throw Error("the config ends early");
        }

        return _reader.TokenType;
    }

    private void Expect(JsonTokenType type, string key, string what)
    {
        if (Next() != type)
        {
            throw Error($"\"{key}\" must be {what}, found {Describe()}");
        }
    }

    private readonly string Describe() => _reader.TokenType switch
    {
        JsonTokenType.String => $"the string \"{_reader.GetString()}\"",
        JsonTokenType.Number => $"the number {Encoding.UTF8.GetString(_reader.ValueSpan)}",
        JsonTokenType.True or JsonTokenType.False => _reader.TokenType == JsonTokenType.True ? "true" : "false",
        JsonTokenType.Null => "null",
        JsonTokenType.StartArray => "a list",
        JsonTokenType.StartObject => "an object",
        _ => _reader.TokenType.ToString(),
    };

    private string String(string key)
    {
        Expect(JsonTokenType.String, key, "a string");
        return _reader.GetString()!;
    }

    private bool Boolean(string key)
    {
        JsonTokenType t = Next();
        return t is JsonTokenType.True or JsonTokenType.False
            ? t == JsonTokenType.True
            : throw Error($"\"{key}\" must be true or false, found {Describe()}");
    }

    private double Number(string key)
    {
        Expect(JsonTokenType.Number, key, "a number");
        return _reader.TryGetDouble(out double v) && double.IsFinite(v) ? v : throw Error($"\"{key}\" is out of range");
    }

    private int Integer(string key)
    {
        Expect(JsonTokenType.Number, key, "a whole number");
        return _reader.TryGetInt32(out int v) ? v : throw Error($"\"{key}\" must be a whole number, found {Describe()}");
    }

    private int Address(string key)
    {
        JsonTokenType t = Next();
        if (t == JsonTokenType.Number && _reader.TryGetInt32(out int n))
        {
            return n;
        }

        string? text = t == JsonTokenType.String ? _reader.GetString() : null;
        if (text is not null && text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            && int.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int hex))
        {
            return hex;
        }

        if (text is not null && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int dec))
        {
            return dec;
        }

        throw Error($"\"{key}\" is a number or a \"0x..\" string, found {Describe()}");
    }

    private string[] Strings(string key)
    {
        Expect(JsonTokenType.StartArray, key, "a list of strings");
        var list = new List<string>();
        while (Next() != JsonTokenType.EndArray)
        {
            list.Add(_reader.TokenType == JsonTokenType.String ? _reader.GetString()! : throw Error($"\"{key}\" must hold strings, found {Describe()}"));
        }

        return [.. list];
    }

    private float[] Floats(string key)
    {
        Expect(JsonTokenType.StartArray, key, "a list of numbers");
        var list = new List<float>();
        while (Next() != JsonTokenType.EndArray)
        {
            if (_reader.TokenType != JsonTokenType.Number || !_reader.TryGetDouble(out double v) || !double.IsFinite(v))
            {
                throw Error($"\"{key}\" must hold numbers, found {Describe()}");
            }

            list.Add((float)v);
        }

        return [.. list];
    }
}
