using System.Text.Json.Nodes;

namespace SubnetworkEnsembles.Experiments.Results;

/// <summary>
/// One line of metrics.jsonl: a training epoch (<see cref="Split"/> "train", with <see cref="Epoch"/>) or a model's test
/// metrics ("test") of the parent, a child (<see cref="Child"/>) or the ensemble, at TensorBoard step <see cref="Step"/>.
/// </summary>
/// <param name="Stage">"parent", "child" or "ensemble".</param>
/// <param name="Child">The child's index; null for the parent and the ensemble.</param>
/// <param name="Epoch">The epoch (from 1) of a "train" record; null for a "test" record.</param>
/// <param name="Step">The x-axis step: parent epochs, then the children's epochs after the parent's last; the member count for the ensemble.</param>
/// <param name="Split">"train" or "test".</param>
/// <param name="Values">The numbers, in order (a non-finite one is written as null and not logged to TensorBoard).</param>
public sealed record MetricsRecord(string Stage, int? Child, int? Epoch, int Step, string Split, IReadOnlyList<KeyValuePair<string, double>> Values)
{
    /// <summary>The TensorBoard tag prefix: the stage, or "child-003" for a child.</summary>
    public string Tag => Child is int index ? $"{Stage}-{index:D3}" : Stage;

    /// <summary>The JSON line: stage, child, epoch (train only), step, split, then the values.</summary>
    public string ToJsonLine()
    {
        var line = new JsonObject { ["stage"] = Stage, ["child"] = Child };
        if (Epoch is int epoch) line["epoch"] = epoch;
        line["step"] = Step;
        line["split"] = Split;
        foreach (var (key, value) in Values) line[key] = double.IsFinite(value) ? JsonValue.Create(value) : null;
        return line.ToJsonString();
    }
}
