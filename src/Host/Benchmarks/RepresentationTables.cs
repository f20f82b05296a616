using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SubnetworkEnsembles.Host.Benchmarks;

/// <summary>
/// T7 (dissertation ch. 7, Figs. 7.2–7.4): how different the members' representations are in a Sparse Subnetwork
/// Ensemble and in a Snapshot Ensemble of the same budget — SmoothGrad maps, feature visualisations, their perceptual
/// hashes, the t-SNE of the predictions and the loss surface around a member — measured by the analysis plugins on
/// LeNet-S. Rows are measures, columns the two methods; every measure is a mean over pairs of distinct children
/// ("between children") or over children against the parent ("to the parent"), as the analyses' scalars define them.
/// </summary>
public static class RepresentationTables
{
    /// <summary>The analyses every T7 run makes (sizes chosen so one run's analyses take about two minutes on 2 cores).</summary>
    internal const string Analyses = "analyses=[{type: smoothgrad, images: 64}, {type: perceptual-hash, images: 64}, {type: feature-vis, channels: 16}, " +
        "{type: tsne, points: 300}, {type: loss-landscape, rows: 1000, resolution: 21}]";

    /// <summary>The smoke suite's: the same analyses on a handful of images, steps and points.</summary>
    internal const string SmokeAnalyses = "analyses=[{type: smoothgrad, images: 4, samples: 5}, {type: perceptual-hash, images: 4, samples: 5}, " +
        "{type: feature-vis, channels: 2, steps: 16}, {type: tsne, points: 40, iterations: 100}, {type: loss-landscape, rows: 100, resolution: 3}]";

    /// <summary>(row, column): the runs of T7, 10 epochs of LeNet-S on 20 000 training rows each, parent + 2 children as members.</summary>
    internal static readonly (string Column, string Slug, string File, string[] Overrides)[] Runs =
    [
        ("SSE (NP 2-way, 8 + 2 × 1)", "sse", "examples/fashion-mnist-sparse.yaml", ["parent.epochs=8", "children.count=2", "children.tuning.epochs=1"]),
        ("Snapshot (4 + 2 cycles × 3)", "snapshot", "examples/baselines/snapshot.yaml", ["parent.epochs=4", "children.count=2", "children.tuning.epochs=3"]),
    ];

    /// <summary>(row label, analysis, scalar key): the measures, in the table's order; a key is a regular expression where a child's index varies.</summary>
    private static readonly (string Row, string Analysis, string Scalar)[] Measures =
    [
        ("SmoothGrad RMSE between children", "smoothgrad", "rmse_between_children"),
        ("SmoothGrad RMSE to the parent", "smoothgrad", "rmse_to_parent"),
        ("SmoothGrad ahash between children", "perceptual-hash", "ahash_between_children"),
        ("SmoothGrad phash between children", "perceptual-hash", "phash_between_children"),
        ("SmoothGrad dhash between children", "perceptual-hash", "dhash_between_children"),
        ("SmoothGrad whash between children", "perceptual-hash", "whash_between_children"),
        ("Feature-vis RMSE between children", "feature-vis", "rmse_between_children"),
        ("Feature-vis ahash between children", "feature-vis", "ahash_between_children"),
        ("Feature-vis phash between children", "feature-vis", "phash_between_children"),
        ("Feature-vis dhash between children", "feature-vis", "dhash_between_children"),
        ("Feature-vis whash between children", "feature-vis", "whash_between_children"),
        ("Feature-vis colorhash between children", "feature-vis", "colorhash_between_children"),
        ("Feature-vis ahash to the parent", "feature-vis", "ahash_to_parent"),
        ("t-SNE: mean distance of a child's points to the parent's", "tsne", "distance_to_parent"),
        ("t-SNE: 10-NN class purity of the joint map", "tsne", "knn_purity"),
        ("Loss surface around the parent: mean loss", "loss-landscape", "parent_mean"),
        ("Loss surface around the first child: mean loss", "loss-landscape", @"child_\d+_mean"),
        ("Loss surface around the first child before tuning: mean loss", "loss-landscape", @"child_\d+_untuned_mean"),
    ];

    /// <summary>T7 for the given suite size.</summary>
    public static BenchTable Table(SuiteSize size)
    {
        bool smoke = size == SuiteSize.Smoke;
        return new BenchTable("T7", "Diversity of representations: SSE vs Snapshot members (LeNet-S, 10 epochs on 20 000 training rows, parent + 2 children)",
            "dissertation ch. 7, Figs. 7.2–7.4", size.T2Seeds, _ => Cells(smoke))
        { Appendix = dir => Figures(dir, smoke) };
    }

    /// <summary>The run of column <paramref name="i"/>.</summary>
    internal static BenchRun Run(int i, bool smoke) => new($"t7-{Runs[i].Slug}", Runs[i].File,
        ["model.type=lenet", "model.size=small", "data.train_subset=20000", .. Runs[i].Overrides, "reference_epochs=10",
         "metrics=[accuracy, nll, {type: ece, bins: 15}, disagreement]", .. smoke ? SmokeBudget : [Analyses]]);

    /// <summary>The smoke suite trains each network one epoch (the table checks the plumbing, not the finding).</summary>
    private static readonly string[] SmokeBudget = ["parent.epochs=1", "children.tuning.epochs=1", SmokeAnalyses];

    private static IEnumerable<BenchCell> Cells(bool smoke)
    {
        for (int i = 0; i < Runs.Length; i++)
        {
            var run = Run(i, smoke);
            foreach (var (row, analysis, scalar) in Measures)
                yield return new BenchCell(row, Runs[i].Column, run, [("value", Scalar(analysis, scalar))]);
            yield return new BenchCell("Ensemble accuracy", Runs[i].Column, run, [("value", BenchmarkSuite.Ensemble("accuracy"))]);
            yield return new BenchCell("Disagreement", Runs[i].Column, run, [("value", BenchmarkSuite.Ensemble("disagreement"))]);
        }
    }

    /// <summary>
    /// The scalar of analysis <paramref name="analysis"/> in results.json whose whole key matches
    /// <paramref name="key"/> (a regular expression: loss-landscape names its keys by the child's index, child_N_mean).
    /// </summary>
    internal static CellReader Scalar(string analysis, string key) => (results, _) =>
    {
        var scalars = results.Analyses?.FirstOrDefault(a => a.Name == analysis)?.Scalars;
        double? value = scalars?.Where(kv => Regex.IsMatch(kv.Key, $"^{key}$")).Select(kv => (double?)kv.Value).FirstOrDefault();
        return value is double v && double.IsFinite(v) ? v : null;
    };

    /// <summary>Where seed 0's figures of each method are (relative paths under the suite's runs/).</summary>
    private static string Figures(Func<BenchRun, long, string> runDirectory, bool smoke)
    {
        var text = new StringBuilder("\nFigures of seed 0 (rows/columns as each caption in the run's report.md says):\n\n");
        for (int i = 0; i < Runs.Length; i++)
        {
            string directory = runDirectory(Run(i, smoke), 0);
            string analyses = Path.Combine(directory, "analyses");
            if (!Directory.Exists(analyses)) continue;
            var files = Directory.GetFiles(analyses, "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
                .Select(f => Path.GetRelativePath(Path.GetDirectoryName(Path.GetDirectoryName(directory)!)!, f).Replace('\\', '/'));
            text.AppendLine(CultureInfo.InvariantCulture, $"- {Runs[i].Column}: {string.Join(", ", files)}");
        }
        return text.ToString();
    }
}
