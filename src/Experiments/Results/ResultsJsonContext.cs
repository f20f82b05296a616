using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using SubnetworkEnsembles.Experiments.Pipeline;

namespace SubnetworkEnsembles.Experiments.Results;

/// <summary>
/// The source-generated JSON contracts of the results (snake_case names, indented, absent optional fields left out,
/// non-finite numbers as null). Records that carry metrics are written through <see cref="InlineMetricsConverter{T}"/>,
/// registered in <see cref="ResultsSerializer.Options"/>: use those options, not this context alone.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, Converters = [typeof(FiniteDoubleConverter)])]
[JsonSerializable(typeof(ExperimentResults))]
[JsonSerializable(typeof(ParentResult))]
[JsonSerializable(typeof(MemberResult))]
[JsonSerializable(typeof(EnsembleResult))]
[JsonSerializable(typeof(McDropoutResult))]
[JsonSerializable(typeof(CorruptedRow))]
[JsonSerializable(typeof(TrustRegionReport))]
[JsonSerializable(typeof(ParentWeightsInfo))]
internal sealed partial class ResultsJsonContext : JsonSerializerContext;

/// <summary>Reading and writing the result records with the contracts of <see cref="ResultsJsonContext"/>.</summary>
internal static class ResultsSerializer
{
    /// <summary>The options every results file is read and written with (indented as the stages always wrote them).</summary>
    public static readonly JsonSerializerOptions Options = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        var context = ResultsJsonContext.Default;
        var options = new JsonSerializerOptions(context.Options) { TypeInfoResolver = context };
        options.Converters.Add(new InlineMetricsConverter<ParentResult>(() => context.ParentResult, [], p => p.Metrics, (p, m) => p with { Metrics = m },
            readNested: (p, node, o) => node["mc_dropout"] is JsonObject mc ? p with { McDropout = mc.Deserialize(Contract<McDropoutResult>(o)) } : p,
            writeNested: (p, node, o) => { if (p.McDropout is { } mc) node["mc_dropout"] = JsonSerializer.SerializeToNode(mc, Contract<McDropoutResult>(o)); }));
        options.Converters.Add(new InlineMetricsConverter<MemberResult>(() => context.MemberResult, ["index", "set", "start", "train_rows"],
            m => m.Metrics, (m, v) => m with { Metrics = v }));
        options.Converters.Add(new InlineMetricsConverter<EnsembleResult>(() => context.EnsembleResult, ["combiner", "members", "includes_parent", "member_indices"],
            e => e.Metrics, (e, v) => e with { Metrics = v }));
        options.Converters.Add(new InlineMetricsConverter<McDropoutResult>(() => context.McDropoutResult, ["samples"], m => m.Metrics, (m, v) => m with { Metrics = v }));
        options.Converters.Add(new InlineMetricsConverter<CorruptedRow>(() => context.CorruptedRow, ["kind", "severity"], r => r.Values, (r, v) => r with { Values = v }));
        options.MakeReadOnly();
        return options;
    }

    /// <summary>The contract of <typeparamref name="T"/> under <paramref name="options"/>.</summary>
    public static JsonTypeInfo<T> Contract<T>(JsonSerializerOptions? options = null) => (JsonTypeInfo<T>)(options ?? Options).GetTypeInfo(typeof(T));

    /// <summary><paramref name="value"/> as indented JSON text.</summary>
    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Contract<T>());

    /// <summary>
    /// <paramref name="node"/> (read from <paramref name="file"/> and checked by <see cref="JsonShape"/>) as a
    /// <typeparamref name="T"/>; a value of the wrong kind is a <see cref="CorruptFileException"/> naming the file.
    /// </summary>
    public static T Deserialize<T>(JsonObject node, string file)
    {
        try
        {
            return node.Deserialize(Contract<T>()) ?? throw new CorruptFileException(file, "holds null, expected a JSON object");
        }
        catch (JsonException e) when (e.Path is { Length: > 2 } where)
        {
            throw new CorruptFileException(file, $"does not fit the results model at '{where[2..]}' ({e.Message}); the file is damaged or was edited by hand");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new CorruptFileException(file, $"does not fit the results model ({e.Message}); the file is damaged or was edited by hand");
        }
    }
}
