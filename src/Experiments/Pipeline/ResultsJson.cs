using System.Text.Json.Nodes;
using SubnetworkEnsembles.Engine.Training;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>How the stages write numbers into parent.json, child-NNN.json and results.json (non-finite values as null).</summary>
internal static class ResultsJson
{
    /// <summary>Adds every metric as a key of <paramref name="target"/>.</summary>
    public static void AddMetrics(JsonObject target, IReadOnlyDictionary<string, double> metrics)
    {
        foreach (var (k, v) in metrics) target[k] = double.IsFinite(v) ? v : null;
    }

    /// <summary>An M × M pairwise matrix as nested arrays.</summary>
    public static JsonArray MatrixJson(double[][] matrix) =>
        new(matrix.Select(row => (JsonNode)new JsonArray(row.Select(v => (JsonNode?)(double.IsFinite(v) ? JsonValue.Create(v) : null)).ToArray())).ToArray());

    /// <summary>Per-epoch training history: epoch, loss, accuracy, lr, seconds.</summary>
    public static JsonArray HistoryJson(IReadOnlyList<EpochRecord> history) =>
        new(history.Select(h => (JsonNode)new JsonObject
        {
            ["epoch"] = h.Epoch, ["loss"] = double.IsFinite(h.Loss) ? h.Loss : null, ["accuracy"] = h.Accuracy,
            ["lr"] = h.LearningRate, ["seconds"] = h.Seconds,
        }).ToArray());

    /// <summary>"accuracy 0.9012, nll 0.2845" for log lines.</summary>
    public static string Format(IReadOnlyDictionary<string, double> metrics) =>
        string.Join(", ", metrics.Select(kv => $"{kv.Key} {kv.Value:F4}"));
}
