using System.Text.Json;
using System.Text.Json.Serialization;

namespace SubnetworkEnsembles.Experiments.Results;

/// <summary>Every double of the results: a non-finite value (NaN, ±∞) is written as null, and null is read as NaN.</summary>
internal sealed class FiniteDoubleConverter : JsonConverter<double>
{
    public override bool HandleNull => true;

    public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => ReadNumber(ref reader);

    public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options) => WriteNumber(writer, value);

    /// <summary>A number, or NaN for null; a JSON exception for anything else.</summary>
    internal static double ReadNumber(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.Null => double.NaN,
        JsonTokenType.Number => reader.GetDouble(),
        _ => throw new JsonException($"expected a number or null, found {reader.TokenType.ToString().ToLowerInvariant()}"),
    };

    /// <summary>The number, or null when it is not finite.</summary>
    internal static void WriteNumber(Utf8JsonWriter writer, double value)
    {
        if (double.IsFinite(value)) writer.WriteNumberValue(value);
        else writer.WriteNullValue();
    }
}
