using System.Text;
using System.Text.Json.Nodes;
using SubnetworkEnsembles.Experiments.Pipeline;
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
    /// <summary>Writes metrics.jsonl and the TensorBoard events of <paramref name="run"/> from <paramref name="results"/> (<paramref name="faults"/>: the <c>write:NAME</c> points passed).</summary>
    public static void Write(RunDirectory run, JsonObject results, Experiments.Diagnostics.IFaultPoints? faults = null)
    {
        var records = Records(results).ToList();
        var text = new StringBuilder();
        foreach (var r in records) text.AppendLine(r.ToJsonString());
        RunDirectory.WriteAllTextAtomic(run.Combine("metrics.jsonl"), text.ToString(), faults);

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

    /// <summary>The records of metrics.jsonl: per epoch (split "train") and per model (split "test").</summary>
    public static IEnumerable<JsonObject> Records(JsonObject results)
    {
        var parent = results["parent"]!.AsObject();
        int parentEpochs = 0;
        foreach (var e in parent["history"]?.AsArray() ?? [])
        {
            parentEpochs = e!["epoch"]!.GetValue<int>();
            yield return Epoch("parent", null, e, parentEpochs);
        }
        foreach (var m in results["members"]!.AsArray())
        {
            int index = m!["index"]!.GetValue<int>();
            foreach (var e in m["history"]?.AsArray() ?? [])
                yield return Epoch("child", index, e!, parentEpochs + e!["epoch"]!.GetValue<int>());
        }
        yield return Test("parent", null, parent, parentEpochs);
        foreach (var m in results["members"]!.AsArray())
            yield return Test("child", m!["index"]!.GetValue<int>(), m.AsObject(), parentEpochs + (m["history"]?.AsArray().Count ?? 0));
        var ensemble = results["ensemble"]!.AsObject();
        yield return Test("ensemble", null, ensemble, ensemble["members"]!.GetValue<int>());
    }

    private static JsonObject Epoch(string stage, int? child, JsonNode e, int step) => new()
    {
        ["stage"] = stage, ["child"] = child, ["epoch"] = e["epoch"]!.GetValue<int>(), ["step"] = step, ["split"] = "train",
        ["loss"] = e["loss"]?.DeepClone(), ["accuracy"] = e["accuracy"]?.DeepClone(), ["lr"] = e["lr"]?.DeepClone(), ["seconds"] = e["seconds"]?.DeepClone(),
    };

    private static JsonObject Test(string stage, int? child, JsonObject source, int step)
    {
        var record = new JsonObject { ["stage"] = stage, ["child"] = child, ["step"] = step, ["split"] = "test" };
        foreach (var (key, value) in source)
            if (value is JsonValue v && v.TryGetValue<double>(out double d) && key is not ("index" or "set" or "members" or "seconds" or "nonzero_parameters" or "parameters"))
                record[key] = d;
        return record;
    }
}
