using System.Globalization;

namespace SubnetworkEnsembles.Host.Reporting;

/// <summary>
/// The tables of report.md and report.html, read from the typed results: test metrics of parent and ensemble, the
/// children, the corrupted test sets, cost, wall time, the trust-region search and each analysis's scalars and tables. Numbers are "F4"; a value that is
/// absent or not finite (null in results.json) is an empty cell.
/// </summary>
public static class ReportTables
{
    /// <summary>The columns of the trust-region table (flags as yes / no, "–" where results.json has none).</summary>
    private static readonly string[] TrustRegionColumns = ["sigma", "sparsity", "kl", "accuracy", "within_target", "admissible", "chosen"];

    /// <summary>
    /// The report's tables as (title, rows), the first row the header: the ensemble's finite metrics are the columns of
    /// "Test metrics", and of "Children" those any child has.
    /// </summary>
    public static IEnumerable<(string Title, List<string[]> Rows)> Of(ExperimentResults results)
    {
        var ensemble = results.Ensemble;
        var metrics = ensemble.Metrics.Where(kv => double.IsFinite(kv.Value)).Select(kv => kv.Key).ToList();
        List<string[]> summary =
        [
            ["model", .. metrics],
            ["parent", .. metrics.Select(m => Cell(results.Parent.Metrics.Find(m)))],
            [$"ensemble ({ensemble.Members.ToString(CultureInfo.InvariantCulture)} members, {ensemble.Combiner})", .. metrics.Select(m => Cell(ensemble.Metrics.Find(m)))],
        ];
        yield return ("Test metrics", summary);

        var memberMetrics = metrics.Where(m => results.Members.Any(x => double.IsFinite(x.Metrics.Find(m) ?? double.NaN))).ToList();
        List<string[]> members = [["child", "selected", .. memberMetrics, "sparsity", "seconds"]];
        foreach (var m in results.Members)
        {
            members.Add([m.Index.ToString(CultureInfo.InvariantCulture), m.Selected == false ? "no" : "yes", .. memberMetrics.Select(k => Cell(m.Metrics.Find(k))),
                Cell(m.Sparsity), Cell(m.Seconds)]);
        }
        yield return ("Children", members);

        if (results.Corrupted is { } corrupted)
        {
            var keys = corrupted.Ensemble.Keys.ToArray();
            List<string[]> rows =
            [
                ["model", .. keys.Select(k => "c" + k)],
                ["parent", .. keys.Select(k => Cell(corrupted.Parent.Find(k)))],
                ["ensemble", .. keys.Select(k => Cell(corrupted.Ensemble.Find(k)))],
            ];
            yield return ($"Corrupted test sets (mean over {corrupted.Sets.ToString(CultureInfo.InvariantCulture)} corruption × severity sets)", rows);
        }
        if (results.Cost is { } cost) yield return ("Cost (dense: masked weights are computed densely)", CostRows(cost));
        if (results.Seconds is { } s)
        {
            yield return ("Wall time (s)",
                [["data", "parent", "trust_region", "children", "ensemble", "total"], [.. new[] { s.Data, s.Parent, s.TrustRegion, s.Children, s.Ensemble, s.Total }.Select(v => Cell(v))]]);
        }
        if (results.TrustRegion is { Table.Count: > 0 } region)
        {
            static string Flag(bool? value) => value switch { true => "yes", false => "no", null => "–" };
            yield return ("Trust-region search", [TrustRegionColumns, .. region.Table.Select(r =>
                new[] { Cell(r.Sigma), Cell(r.Sparsity), Cell(r.Kl), Cell(r.Accuracy), Flag(r.WithinTarget), Flag(r.Admissible), r.Chosen == true ? "yes" : "" })]);
        }
        foreach (var analysis in results.Analyses ?? [])
        {
            if (analysis.Scalars.Count > 0)
                yield return ($"Analysis {analysis.Name}", [["value", .. analysis.Scalars.Keys], ["", .. analysis.Scalars.Values.Select(v => Cell(v))]]);
            foreach (var table in analysis.Tables)
                yield return ($"Analysis {analysis.Name}: {table.Name}{(table.Caption.Length > 0 ? " — " + table.Caption : "")}",
                    [["", .. table.Columns], .. table.Rows.Select((row, r) => (string[])[row, .. table.Values[r].Select(v => Cell(v))])]);
        }
    }

    /// <summary>
    /// One header row and one row of values: forward FLOPs, epochs, training FLOPs as executed ("G4") and their ratio (the
    /// dense-equivalent ratio beside it when compact children made them differ), parameters, inference ratio (likewise).
    /// </summary>
    private static List<string[]> CostRows(RunCost cost)
    {
        string training = Cell(cost.TrainingFlops!.RelativeToIndependent);
        if (cost.DenseEquivalentTrainingFlops is { } dense && dense.Total != cost.TrainingFlops.Total)
            training += $" (dense {Cell(dense.RelativeToIndependent)})";
        var inference = cost.InferenceFlopsPerSample!;
        string inferenceRatio = inference.DenseEquivalent is long denseInference && denseInference != inference.Ensemble
            ? $"{Cell(inference.RelativeToIndependent)} (dense {Integer(inference.DenseEquivalentRelativeToIndependent ?? 0)})"
            : Cell(inference.RelativeToIndependent);
        return
        [
            ["forward FLOPs / sample", "epochs (parent + children)", "training FLOPs", "× independent", "ensemble parameters (non-zero)", "inference × independent"],
            [Integer(cost.ForwardFlopsPerSample), $"{Integer(cost.Epochs!.Parent)} + {Integer(cost.Epochs.Children)}",
             cost.TrainingFlops.Total.ToString("G4", CultureInfo.InvariantCulture), training,
             $"{Integer(cost.Parameters!.Ensemble)} ({Integer(cost.Parameters.EnsembleNonzero)})", inferenceRatio],
        ];
    }

    /// <summary>"0.1234", or empty when <paramref name="value"/> is absent or not finite.</summary>
    internal static string Cell(double? value) => value is double d && double.IsFinite(d) ? d.ToString("F4", CultureInfo.InvariantCulture) : "";

    private static string Integer(long value) => value.ToString(CultureInfo.InvariantCulture);
}
