using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace SubnetworkEnsembles.Experiments.Results;

/// <summary>
/// Writes a record that carries <see cref="MetricValues"/> with the metrics as keys of its own object, placed after the
/// last present property named in <c>after</c> (first when none is), exactly where the stages have always written them;
/// the other properties come from the record's source-generated contract (<see cref="ResultsJsonContext"/>). Reading
/// takes every number (or null) whose key is not a property of the record as a metric.
/// </summary>
internal sealed class InlineMetricsConverter<T>(
    Func<JsonTypeInfo<T>> contract, string[] after, Func<T, MetricValues> metrics, Func<T, MetricValues, T> withMetrics,
    Func<T, JsonObject, JsonSerializerOptions, T>? readNested = null, Action<T, JsonObject, JsonSerializerOptions>? writeNested = null)
    : JsonConverter<T> where T : class
{
    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (JsonNode.Parse(ref reader) is not JsonObject node) throw new JsonException($"expected an object for {typeof(T).Name}");
        var typeInfo = contract();
        var value = node.Deserialize(typeInfo) ?? throw new JsonException($"expected an object for {typeof(T).Name}");
        var known = typeInfo.Properties.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var values = node.Where(kv => !known.Contains(kv.Key) && (kv.Value is null || kv.Value.GetValueKind() == JsonValueKind.Number))
            .Select(kv => KeyValuePair.Create(kv.Key, kv.Value is null ? double.NaN : kv.Value.GetValue<double>()));
        value = withMetrics(value, new MetricValues(values));
        return readNested is null ? value : readNested(value, node, options);
    }

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
    {
        var node = JsonSerializer.SerializeToNode(value, contract())!.AsObject();
        writeNested?.Invoke(value, node, options);
        var properties = node.ToList();
        node.Clear();
        int at = properties.FindLastIndex(p => after.Contains(p.Key)) + 1;
        var ordered = new JsonObject();
        foreach (var (key, child) in properties.Take(at)) ordered[key] = child;
        foreach (var (name, v) in metrics(value)) ordered[name] = double.IsFinite(v) ? JsonValue.Create(v) : null;
        foreach (var (key, child) in properties.Skip(at)) ordered[key] = child;
        ordered.WriteTo(writer, options);
    }
}
