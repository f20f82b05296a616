using ScottPlot;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Host.Reporting;

/// <summary>
/// The report's figures computed from the saved test predictions with the run's own plugins (<see cref="RunScoring"/>):
/// the reliability diagram (the <c>ece</c> metric's bins) and accuracy/NLL against ensemble size (the configured combiner).
/// </summary>
public static class CalibrationFigures
{
    private const int Width = 900, Height = 520;

    /// <summary>
    /// The configured scalar metrics (no pairwise ones) of the first m members [M, N, C] combined by the configured
    /// combiner, for m = 1 … M; element M − 1 equals results.json's <c>ensemble</c> values when the members are the run's.
    /// </summary>
    public static IReadOnlyList<Evaluation> BySize(Tensor members, Tensor labels, RunScoring scoring)
    {
        var curve = new List<Evaluation>();
        for (long k = 1; k <= members.shape[0]; k++)
        {
            using var first = members.narrow(0, 0, k);
            curve.Add(scoring.ScalarEvaluation.Ensemble(first, labels));
        }
        return curve;
    }

    /// <summary>Reliability diagram of the parent [N, C] and the combined ensemble [N, C]: accuracy against mean confidence per non-empty bin.</summary>
    public static Figure Reliability(Tensor parent, Tensor ensemble, Tensor labels, RunScoring scoring, string file)
    {
        var plot = new Plot();
        var diagonal = plot.Add.Line(0, 0, 1, 1);
        diagonal.LinePattern = LinePattern.Dashed;
        diagonal.LegendText = "perfect calibration";
        int bins = RunScoring.DefaultBins;
        foreach (var (name, probs) in new[] { ("parent", parent), ("ensemble", ensemble) })
        {
            var b = scoring.Bins(probs, labels);
            bins = b.Count.Length;
            var keep = Enumerable.Range(0, bins).Where(i => b.Count[i] > 0).ToArray();
            var s = plot.Add.Scatter(keep.Select(i => b.Confidence[i]).ToArray(), keep.Select(i => b.Accuracy[i]).ToArray());
            s.LegendText = name;
            s.MarkerSize = 7;
        }
        plot.Title($"Reliability diagram ({bins} bins)");
        plot.XLabel("mean confidence in bin");
        plot.YLabel("accuracy in bin");
        plot.Axes.SetLimits(0, 1, 0, 1);
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePngAtomic(file, Width, Height);
        return new Figure(Path.GetFileName(file), "Reliability: parent vs ensemble",
            "Accuracy against confidence per bin (the ece metric's bins); points below the diagonal are over-confident.");
    }

    /// <summary>Accuracy (left axis) and NLL (right axis), where configured, of the first m members combined, m = 1 … M.</summary>
    public static Figure EnsembleSize(Tensor members, Tensor labels, ExperimentResults results, RunScoring scoring, string file)
    {
        var curve = BySize(members, labels, scoring);
        double[] xs = Enumerable.Range(1, curve.Count).Select(i => (double)i).ToArray();
        double[] Series(string key) => curve.Select(e => e.Values.TryGetValue(key, out double v) ? v : double.NaN).ToArray();
        var plot = new Plot();
        if (curve.Count > 0 && curve[0].Values.ContainsKey("accuracy"))
            plot.Add.Scatter(xs, Series("accuracy")).LegendText = "accuracy (left)";
        if (curve.Count > 0 && curve[0].Values.ContainsKey("nll"))
        {
            var n = plot.Add.Scatter(xs, Series("nll"));
            n.LegendText = "NLL (right)";
            n.Axes.YAxis = plot.Axes.Right;
        }
        if (results.Parent.Metrics.Find("accuracy") is double pa && double.IsFinite(pa))
        {
            var h = plot.Add.HorizontalLine(pa);
            h.LegendText = "parent accuracy";
            h.LinePattern = LinePattern.Dotted;
        }
        string combiner = results.Ensemble.Combiner;
        plot.Title($"Ensemble of the first m members ({combiner})");
        plot.XLabel("members m");
        plot.Axes.Left.Label.Text = "test accuracy";
        plot.Axes.Right.Label.Text = "test NLL";
        plot.ShowLegend(Alignment.MiddleRight);
        plot.SavePngAtomic(file, Width, Height);
        return new Figure(Path.GetFileName(file), "Accuracy and NLL vs ensemble size",
            $"Test accuracy and NLL of the first m selected members, combined by the run's combiner ({combiner}).");
    }
}
