using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SubnetworkEnsembles.Experiments.Results;

/// <summary>
/// Metric values of one model or ensemble, named by the configured metric plugins (e.g. accuracy, nll, ece), in the
/// order they were computed or read. In results.json they are keys of the object that holds them ("parent": {"accuracy":
/// 0.91, "nll": 0.27, …, "train_rows": …}); a non-finite value is written as null and read back as NaN.
/// </summary>
[JsonConverter(typeof(MetricValuesConverter))]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1710", Justification = "Named for what it holds: results.Ensemble.Metrics[\"nll\"] reads as the domain does.")]
public sealed class MetricValues : IReadOnlyDictionary<string, double>
{
    private readonly OrderedDictionary<string, double> _values = new(StringComparer.Ordinal);

    /// <summary>No metrics.</summary>
    public MetricValues()
    {
    }

    /// <summary>The metrics of <paramref name="values"/>, in their order.</summary>
    public MetricValues(IEnumerable<KeyValuePair<string, double>> values)
    {
        foreach (var (name, value) in values) _values.Add(name, value);
    }

    /// <summary>The value of metric <paramref name="name"/>; throws <see cref="MissingMetricException"/> naming it (and the metrics present) when it is absent.</summary>
    public double this[string name] => _values.TryGetValue(name, out var value) ? value : throw new MissingMetricException(name, _values.Keys);

    /// <summary>The value of metric <paramref name="name"/>, or null when it is absent.</summary>
    public double? Find(string name) => _values.TryGetValue(name, out var value) ? value : null;

    /// <summary>The metric names, in order.</summary>
    public IEnumerable<string> Keys => _values.Keys;

    /// <summary>The values, in the order of <see cref="Keys"/>.</summary>
    public IEnumerable<double> Values => _values.Values;

    /// <summary>How many metrics there are.</summary>
    public int Count => _values.Count;

    /// <summary>Whether metric <paramref name="key"/> is present.</summary>
    public bool ContainsKey(string key) => _values.ContainsKey(key);

    /// <summary>The value of metric <paramref name="key"/> when present.</summary>
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out double value) => _values.TryGetValue(key, out value);

    /// <summary>The metrics as name → value pairs, in order.</summary>
    public IEnumerator<KeyValuePair<string, double>> GetEnumerator() => _values.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>"accuracy 0.9012, nll 0.2845", as in the log.</summary>
    public override string ToString() => string.Join(", ", _values.Select(kv => $"{kv.Key} {kv.Value:F4}"));
}

/// <summary>Writes <see cref="MetricValues"/> standing alone as a JSON object of name → number (null when not finite).</summary>
internal sealed class MetricValuesConverter : JsonConverter<MetricValues>
{
    public override MetricValues Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException("expected an object of metric values");
        var values = new List<KeyValuePair<string, double>>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            string name = reader.GetString()!;
            reader.Read();
            values.Add(KeyValuePair.Create(name, FiniteDoubleConverter.ReadNumber(ref reader)));
        }
        return new MetricValues(values);
    }

    public override void Write(Utf8JsonWriter writer, MetricValues value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        foreach (var (name, v) in value)
        {
            writer.WritePropertyName(name);
            FiniteDoubleConverter.WriteNumber(writer, v);
        }
        writer.WriteEndObject();
    }
}
