using System.Text;
using SubnetworkEnsembles.Experiments.Pipeline;
using static TorchSharp.torch.utils.tensorboard;

namespace SubnetworkEnsembles.Experiments.Results;

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
    public static void Write(RunDirectory run, ExperimentResults results, Experiments.Diagnostics.IFaultPoints? faults = null)
    {
        var records = Records(results).ToList();
        var text = new StringBuilder();
        foreach (var r in records) text.AppendLine(r.ToJsonLine());
        RunDirectory.WriteAllTextAtomic(run.Combine("metrics.jsonl"), text.ToString(), faults);

        // Written beside the run and swapped in whole: two gathers of one run at once must not delete each other's events.
        RunDirectory.WriteDirectoryAtomic(run.Combine("tensorboard"), board =>
        {
            var writer = SummaryWriter(board, createRunName: false);
            foreach (var r in records)
                foreach (var (key, value) in r.Values.Where(v => double.IsFinite(v.Value)))
                    writer.add_scalar(ScalarTag(r, key), (float)value, r.Step);
        });
    }

    /// <summary>
    /// The records of metrics.jsonl: per epoch (split "train": loss, accuracy, lr, seconds, and after an evaluated epoch
    /// val_loss, val_accuracy and val_METRIC for the configured metrics on the validation split) and per model (split "test":
    /// its finite test metrics, with train_rows, the validation score and sparsity where recorded).
    /// </summary>
    public static IEnumerable<MetricsRecord> Records(ExperimentResults results)
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

    /// <summary>
    /// The TensorBoard tag of <paramref name="key"/> in <paramref name="record"/>: <c>TAG/SPLIT_KEY</c> (parent/train_loss,
    /// ensemble/test_nll), and for an epoch's validation values <c>TAG/validation_KEY</c> (parent/validation_loss, child-002/validation_ece).
    /// </summary>
    public static string ScalarTag(MetricsRecord record, string key) =>
        record.Split == "train" && key.StartsWith(ValidationPrefix, StringComparison.Ordinal)
            ? $"{record.Tag}/validation_{key[ValidationPrefix.Length..]}"
            : $"{record.Tag}/{record.Split}_{key}";

    private const string ValidationPrefix = "val_";

    private static MetricsRecord Epoch(string stage, int? child, TrainingEpoch e, int step)
    {
        List<KeyValuePair<string, double>> values = [Entry("loss", e.Loss), Entry("accuracy", e.Accuracy), Entry("lr", e.Lr), Entry("seconds", e.Seconds)];
        if (e.ValLoss is not null || e.ValAccuracy is not null)
        {
            values.Add(Entry(ValidationPrefix + "loss", e.ValLoss));
            values.Add(Entry(ValidationPrefix + "accuracy", e.ValAccuracy));
            foreach (var (key, value) in e.ValMetrics ?? [])
                if (key != "accuracy") values.Add(Entry(ValidationPrefix + key, value));   // val_accuracy is already there (the same number)
        }
        return new(stage, child, e.Epoch, step, "train", values);
    }

    /// <summary>A test record of the finite values of <paramref name="values"/>, in order (absent and non-finite ones left out).</summary>
    private static MetricsRecord Test(string stage, int? child, int step, IEnumerable<KeyValuePair<string, double>> values) =>
        new(stage, child, null, step, "test", values.Where(v => double.IsFinite(v.Value)).ToList());

    private static KeyValuePair<string, double> Entry(string key, double? value) => KeyValuePair.Create(key, value ?? double.NaN);
}
