using System.Globalization;
using System.Text;
using ScottPlot;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Host.Reporting;

/// <summary>One figure of the report: file name (in report/), title and what it shows.</summary>
public sealed record Figure(string File, string Title, string Caption);

/// <summary>
/// The report of a finished run: <c>report.md</c> and a self-contained <c>report.html</c> (figures embedded) in the run
/// directory, with PNG figures in <c>report/</c> drawn by ScottPlot — training curves of the parent and the children;
/// a reliability diagram of parent vs ensemble; a heatmap per pairwise diversity metric; accuracy and NLL vs ensemble
/// size; KL and accuracy vs σ when a trust-region search ran; and, for 2-D data, the decision-boundary grid of
/// <see cref="DecisionBoundaryGrid"/> when one is given. Everything is read from the run directory's files.
/// </summary>
public static class RunReport
{
    private const int Width = 900, Height = 520;

    /// <summary>
    /// Writes the report from <paramref name="results"/> (read with <see cref="ExperimentResults.Read"/>, or as the ensemble stage made them) and, when the run
    /// saved them (<paramref name="predictionsSaved"/>; null: when they exist), predictions/*.npy, whose members are
    /// combined and scored by the run's own plugins (<paramref name="scoring"/>); returns the figures drawn.
    /// </summary>
    public static IReadOnlyList<Figure> Write(RunDirectory run, ExperimentResults results, bool? predictionsSaved, RunScoring scoring,
        Func<string, Figure?>? decisionBoundaries = null, Experiments.Diagnostics.IFaultPoints? faults = null)
    {
        string figures = run.Combine("report");
        Directory.CreateDirectory(figures);
        var drawn = new List<Figure>
        {
            TrainingCurves(results, Path.Combine(figures, "training-curves.png")),
        };
        string labelsFile = run.Combine("predictions", "labels.npy"), membersFile = run.Combine("predictions", "members.npy");
        string parentFile = run.Combine("predictions", "parent.npy");
        if (predictionsSaved ?? (File.Exists(labelsFile) && File.Exists(membersFile) && File.Exists(parentFile)))
        {
            long rows = results.Data.Test;
            using var members = RunFiles.ReadProbabilities(membersFile, rows, stacked: true);
            using var parent = RunFiles.ReadProbabilities(parentFile, rows, members.shape[2]);
            using var labels = RunFiles.ReadLabels(labelsFile, rows, members.shape[2]);
            using var ensemble = scoring.Combiner.Combine(members);
            drawn.Add(CalibrationFigures.Reliability(parent, ensemble, labels, scoring, Path.Combine(figures, "reliability.png")));
            drawn.Add(CalibrationFigures.EnsembleSize(members, labels, results, scoring, Path.Combine(figures, "ensemble-size.png")));
        }
        foreach (var (name, matrix) in results.Ensemble.Pairwise ?? new Dictionary<string, double[][]>())
            drawn.Add(Heatmap(name, matrix, results.Ensemble.MemberIndices, Path.Combine(figures, $"diversity-{name}.png")));
        if (results.TrustRegion is { } region) drawn.Add(TrustRegion(region, Path.Combine(figures, "trust-region.png")));
        if (decisionBoundaries?.Invoke(Path.Combine(figures, "decision-boundaries.png")) is { } grid) drawn.Add(grid);

        if (faults is { Enabled: true }) faults.At("report");
        TrainingLogs.Write(run, results, faults);
        // Figures of the analyses live in analyses/NAME/ of the run directory (results.json names them relative to it).
        var analysisFigures = (results.Analyses ?? []).SelectMany(a => a.Figures.Where(f => File.Exists(run.Combine(f.File)))
            .Select(f => new Figure("../" + f.File, $"Analysis {a.Name}: {Path.GetFileNameWithoutExtension(f.File)}", f.Caption))).ToList();
        RunDirectory.WriteAllTextAtomic(run.Combine("report.md"), Markdown(results, [.. drawn, .. analysisFigures]), faults);
        RunDirectory.WriteAllTextAtomic(run.Combine("report.html"), Html(results, [.. drawn, .. analysisFigures], figures), faults);
        return drawn;
    }

    private static Figure TrainingCurves(ExperimentResults results, string file)
    {
        var plot = new Plot();
        var parent = results.Parent.History ?? [];
        int parentEpochs = parent.Count == 0 ? 0 : parent[^1].Epoch;
        bool validation = false;
        void Curves(IReadOnlyList<TrainingEpoch> history, int offset, string name, float width)
        {
            if (history.Count == 0) return;
            var line = plot.Add.Scatter(history.Select(e => offset + (double)e.Epoch).ToArray(), history.Select(e => e.Loss).ToArray());
            line.LegendText = name;
            line.LineWidth = width;
            var evaluated = history.Where(e => e.ValLoss is double v && double.IsFinite(v)).ToList();
            if (evaluated.Count == 0) return;
            validation = true;
            var val = plot.Add.Scatter(evaluated.Select(e => offset + (double)e.Epoch).ToArray(), evaluated.Select(e => e.ValLoss!.Value).ToArray());
            val.LegendText = name + " (validation)";
            val.Color = line.Color;
            val.LineWidth = width;
            val.LinePattern = LinePattern.Dashed;
        }
        Curves(parent, 0, "parent", 2);
        foreach (var m in results.Members) Curves(m.History ?? [], parentEpochs, $"child {m.Index}", 1);
        plot.Title(validation ? "Loss: training (solid) and validation (dashed); parent, then each child's tuning" : "Training loss: parent, then each child's tuning");
        plot.XLabel("epoch (children continue after the parent's last)");
        plot.YLabel(validation ? "mean cross-entropy (NLL)" : "mean training cross-entropy");
        plot.ShowLegend(Alignment.UpperRight);
        plot.SavePngAtomic(file, Width, Height);
        if (validation)
            return new Figure(Path.GetFileName(file), "Training curves", "Mean training loss (solid) and validation NLL (dashed) per epoch of the parent and of every child's tuning.");
        return new Figure(Path.GetFileName(file), "Training curves", "Mean training loss per epoch of the parent and of every child's tuning.");
    }

    /// <summary>
    /// Per-bin mean confidence, accuracy and count of <paramref name="probabilities"/> [N, C]: the bins of the <c>ece</c>
    /// metric (<see cref="Abstractions.ReliabilityBins"/>; a confidence on an edge b/B is in bin b − 1).
    /// </summary>
    public static (double[] Confidence, double[] Accuracy, long[] Count) ReliabilityBins(Tensor probabilities, Tensor labels, int bins = RunScoring.DefaultBins)
    {
        var b = Abstractions.ReliabilityBins.Compute(probabilities, labels, bins);
        return (b.Confidence, b.Accuracy, b.Count);
    }

    private static Figure Heatmap(string name, double[][] matrix, IReadOnlyList<int> memberIndices, string file)
    {
        int m = matrix.Length;
        var values = new double[m, m];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++)
                values[i, j] = matrix[i][j];
        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(values);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        plot.Add.ColorBar(heatmap);
        var indices = memberIndices.Select(MemberName).ToArray();
        plot.Title($"Pairwise {name} between members");
        plot.XLabel("member (child index)");
        plot.YLabel("member (child index)");
        if (indices.Length == m)
        {
            plot.Axes.Bottom.SetTicks(Enumerable.Range(0, m).Select(i => (double)i).ToArray(), indices);
            plot.Axes.Left.SetTicks(Enumerable.Range(0, m).Select(i => (double)i).ToArray(), indices.Reverse().ToArray());
        }
        plot.SavePngAtomic(file, Width * 2 / 3, Height);
        return new Figure(Path.GetFileName(file), $"Diversity: pairwise {name}", $"The M×M matrix of pairwise {name} on the test set.");
    }

    private static Figure TrustRegion(TrustRegionReport region, string file)
    {
        var plot = new Plot();
        foreach (var group in region.Table.GroupBy(r => r.Sparsity))
        {
            var ordered = group.OrderBy(r => r.Sigma).ToList();
            double[] sigma = ordered.Select(r => r.Sigma).ToArray();
            var kl = plot.Add.Scatter(sigma, ordered.Select(r => r.Kl).ToArray());
            kl.LegendText = $"KL (left){(double.IsNaN(group.Key) ? "" : $", sparsity {group.Key:0.##}")}";
            var acc = plot.Add.Scatter(sigma, ordered.Select(r => r.Accuracy).ToArray());
            acc.LegendText = $"accuracy (right){(double.IsNaN(group.Key) ? "" : $", sparsity {group.Key:0.##}")}";
            acc.Axes.YAxis = plot.Axes.Right;
        }
        if (region.TargetKl is var target && !double.IsNaN(target))
        {
            var line = plot.Add.HorizontalLine(target);
            line.LinePattern = LinePattern.Dashed;
            line.LegendText = "target KL Δ";
        }
        plot.Title("Trust-region search: KL to the parent and accuracy vs σ (validation)");
        plot.XLabel("σ");
        plot.Axes.Left.Label.Text = "KL(parent ‖ child)";
        plot.Axes.Right.Label.Text = "accuracy";
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePngAtomic(file, Width, Height);
        return new Figure(Path.GetFileName(file), "Trust-region search", "Mean KL divergence from the parent and accuracy of perturbed children per σ; the chosen σ is the strongest within Δ.");
    }

    private static string Markdown(ExperimentResults results, IReadOnlyList<Figure> figures)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# Run report: {results.Name} (seed {results.Seed.ToString(CultureInfo.InvariantCulture)})").AppendLine();
        foreach (var (title, rows) in ReportTables.Of(results))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"## {title}").AppendLine();
            md.AppendLine("| " + string.Join(" | ", rows[0]) + " |");
            md.AppendLine("|" + string.Concat(rows[0].Select(_ => "---|")));
            foreach (var row in rows.Skip(1)) md.AppendLine("| " + string.Join(" | ", row) + " |");
            md.AppendLine();
        }
        md.AppendLine("## Figures").AppendLine();
        foreach (var f in figures) md.AppendLine(CultureInfo.InvariantCulture, $"### {f.Title}").AppendLine().AppendLine(f.Caption).AppendLine().AppendLine(CultureInfo.InvariantCulture, $"![{f.Title}]({(f.File.StartsWith("../", StringComparison.Ordinal) ? f.File[3..] : "report/" + f.File)})").AppendLine();
        return md.ToString();
    }

    private static string Html(ExperimentResults results, IReadOnlyList<Figure> figures, string directory)
    {
        static string E(string s) => System.Net.WebUtility.HtmlEncode(s);
        var html = new StringBuilder();
        html.AppendLine("<!DOCTYPE html><html><head><meta charset=\"utf-8\">");
        html.AppendLine(CultureInfo.InvariantCulture, $"<title>{E($"{results.Name} — sne report")}</title>");
        html.AppendLine("<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}img{max-width:100%}</style></head><body>");
        html.AppendLine(CultureInfo.InvariantCulture, $"<h1>Run report: {E(results.Name)} (seed {results.Seed.ToString(CultureInfo.InvariantCulture)})</h1>");
        foreach (var (title, rows) in ReportTables.Of(results))
        {
            html.AppendLine(CultureInfo.InvariantCulture, $"<h2>{E(title)}</h2><table><tr>{string.Concat(rows[0].Select(h => $"<th>{E(h)}</th>"))}</tr>");
            foreach (var row in rows.Skip(1)) html.AppendLine(CultureInfo.InvariantCulture, $"<tr>{string.Concat(row.Select(c => $"<td>{E(c)}</td>"))}</tr>");
            html.AppendLine("</table>");
        }
        foreach (var f in figures)
        {
            string data = Convert.ToBase64String(File.ReadAllBytes(Path.Combine(directory, f.File)));
            html.AppendLine(CultureInfo.InvariantCulture, $"<h2>{E(f.Title)}</h2><p>{E(f.Caption)}</p><img alt=\"{E(f.Title)}\" src=\"data:image/png;base64,{data}\">");
        }
        html.AppendLine("</body></html>");
        return html.ToString();
    }

    /// <summary>"parent" for member index −1, otherwise the child's index.</summary>
    internal static string MemberName(int index) => index < 0 ? "parent" : index.ToString(CultureInfo.InvariantCulture);
}
