using System.Text;
using System.Text.Json.Nodes;
using SubnetworkEnsembles.Experiments.Pipeline;
using SubnetworkEnsembles.Experiments.Results;
using static TorchSharp.torch.utils.tensorboard;

namespace SubnetworkEnsembles.Host.Reporting;

/// <summary>
/// Per-epoch metrics of a finished run as <c>metrics.jsonl</c> (one JSON object per epoch of the parent and of every
/// child, then the parent's, each member's and the ensemble's test metrics) and as TensorBoard event files in
/// <c>tensorboard/</c> (scalars <c>parent/loss</c>, <c>child-003/accuracy</c>, <c>ensemble/nll</c>, …; children's
/// steps continue after the parent's epochs). Both are written from results.json, so they are complete and identical
/// however the run was split, interrupted or resumed.
/// </summary>
public static class TrainingLogs
{
    /// <summary>Writes metrics.jsonl and the TensorBoard events of <paramref name="run"/> from <paramref name="results"/>.</summary>
    public static void Write(RunDirectory run, ExperimentResults results)
    {
        var records = Records(results).ToList();
        var text = new StringBuilder();
        foreach (var r in records) text.AppendLine(r.ToJsonString());
        RunDirectory.WriteAllTextAtomic(run.Combine("metrics.jsonl"), text.ToString());

        string board = run.Combine("tensorboard");
        if (Directory.Exists(board)) Directory.Delete(board, recursive: true);
        Directory.CreateDirectory(board);
        var writer = SummaryWriter(board, createRunName: false);
        foreach (var r in records)
        {
            string tag = r["stage"]!.GetValue<string>() switch
            {
                "child" => $"child-{r["child"]!.GetValue<int>():D3}",
                var s => s,
            };
            int step = r["step"]!.GetValue<int>();
            foreach (var (key, value) in r)
            {
                if (key is "stage" or "child" or "epoch" or "step" or "split" || value is not JsonValue v || !v.TryGetValue<double>(out double d)) continue;
                writer.add_scalar($"{tag}/{(r["split"] is { } split ? split + "_" : "")}{key}", (float)d, step);
            }
        }
    }

    /// <summary>
    /// The records of metrics.jsonl: per epoch (split "train": loss, accuracy, lr, seconds) and per model (split "test":
    /// its finite test metrics, with train_rows, the validation score and sparsity where recorded); a non-finite value is null.
    /// </summary>
    public static IEnumerable<JsonObject> Records(ExperimentResults results)
    {
        int parentEpochs = 0;
        foreach (var e in results.Parent.History ?? [])
        {
            parentEpochs = e.Epoch;
            yield return Epoch("parent", null, e, parentEpochs);
        }
        foreach (var m in results.Members)
            foreach (var e in m.History ?? [])
                yield return Epoch("child", m.Index, e, parentEpochs + e.Epoch);
        var parent = results.Parent;
        yield return Test("parent", null, parentEpochs, [.. parent.Metrics, Entry("train_rows", parent.TrainRows)]);
        foreach (var m in results.Members)
        {
            yield return Test("child", m.Index, parentEpochs + (m.History?.Count ?? 0),
                [Entry("train_rows", m.TrainRows), .. m.Metrics, Entry("validation_nll", m.ValidationNll), Entry("validation_accuracy", m.ValidationAccuracy),
                 Entry("sparsity", m.Sparsity)]);
        }
        yield return Test("ensemble", null, results.Ensemble.Members, results.Ensemble.Metrics);
    }

    private static JsonObject Epoch(string stage, int? child, TrainingEpoch e, int step) => new()
    {
        ["stage"] = stage, ["child"] = child, ["epoch"] = e.Epoch, ["step"] = step, ["split"] = "train",
        ["loss"] = Number(e.Loss), ["accuracy"] = Number(e.Accuracy), ["lr"] = Number(e.Lr), ["seconds"] = Number(e.Seconds),
    };

    /// <summary>A test record: the finite values of <paramref name="values"/> in order (absent and non-finite ones left out).</summary>
    private static JsonObject Test(string stage, int? child, int step, IEnumerable<KeyValuePair<string, double>> values)
    {
        var record = new JsonObject { ["stage"] = stage, ["child"] = child, ["step"] = step, ["split"] = "test" };
        foreach (var (key, value) in values)
            if (double.IsFinite(value)) record[key] = value;
        return record;
    }

    private static KeyValuePair<string, double> Entry(string key, double? value) => KeyValuePair.Create(key, value ?? double.NaN);

    private static JsonValue? Number(double value) => double.IsFinite(value) ? JsonValue.Create(value) : null;
}
