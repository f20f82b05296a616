using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Analyses.Internal;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Analyses;

/// <summary>Options of <see cref="TsneAnalysis"/> (YAML keys beside <c>type: tsne</c>).</summary>
public sealed class TsneOptions : IValidatableOptions
{
    /// <summary>Test rows in the seeded sample (fewer when the test split is smaller); each network contributes one point per row, ≥ 2.</summary>
    public int Points { get; init; } = 500;

    /// <summary>Perplexity of the conditional distributions, 2^H(P_i) (at most (points in the map − 1)/3 is used), &gt; 1.</summary>
    public double Perplexity { get; init; } = 30;

    /// <summary>Gradient steps T (paper: 1000), ≥ 1.</summary>
    public int Iterations { get; init; } = 1000;

    /// <summary>Initial learning rate η (paper: 100), &gt; 0.</summary>
    public double LearningRate { get; init; } = 100;

    /// <summary>Early exaggeration: factor on P (paper: 4), ≥ 1.</summary>
    public double Exaggeration { get; init; } = 4;

    /// <summary>Steps with exaggerated P (paper: 50), ≥ 0.</summary>
    public int ExaggerationIterations { get; init; } = 50;

    /// <summary>Step from which the momentum is 0.8 instead of 0.5 (paper: 250), ≥ 0.</summary>
    public int MomentumSwitch { get; init; } = 250;

    /// <summary>Embed ln(max(p, 10⁻¹²)) instead of the probabilities p.</summary>
    public bool LogProbabilities { get; init; }

    /// <summary>Neighbours k of the kNN class purity reported, ≥ 1.</summary>
    public int Neighbours { get; init; } = 10;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Points < 2) yield return $"points: must be ≥ 2, got {Points}";
        if (!(Perplexity > 1) || double.IsInfinity(Perplexity)) yield return $"perplexity: must be a finite number > 1, got {Perplexity}";
        if (Iterations < 1) yield return $"iterations: must be ≥ 1, got {Iterations}";
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) yield return $"learning_rate: must be a finite number > 0, got {LearningRate}";
        if (!(Exaggeration >= 1) || double.IsInfinity(Exaggeration)) yield return $"exaggeration: must be a finite number ≥ 1, got {Exaggeration}";
        if (ExaggerationIterations < 0) yield return $"exaggeration_iterations: must be ≥ 0, got {ExaggerationIterations}";
        if (MomentumSwitch < 0) yield return $"momentum_switch: must be ≥ 0, got {MomentumSwitch}";
        if (Neighbours < 1) yield return $"neighbours: must be ≥ 1, got {Neighbours}";
    }
}

/// <summary>
/// t-SNE (van der Maaten &amp; Hinton 2008; dissertation §7.2, Fig. 7.2) of the networks' saved test predictions: for a
/// seeded sample of n test rows, the M networks' probability vectors [M·n, C] (or their logarithms) are embedded jointly
/// in one 2-D map (so that networks are comparable): exact O((M·n)²) gradient, σ_i by bisection to the perplexity,
/// early exaggeration, momentum 0.5 → 0.8 and Jacobs's gains as in the paper. Scalars: "kl" (KL(P‖Q) of the final map),
/// "knn_purity" (kNN class purity of the whole map), "distance_to_parent" (mean over children of the table's first
/// column). Table "embedding": per network the mean map distance ‖y_m,r − y_parent,r‖ over rows r, its kNN class purity
/// within its own points and its error rate. Figures: by-class.png and by-misprediction.png, one panel per network on
/// the map's common axes.
/// </summary>
[Plugin("tsne", PluginKind.Analysis, OptionsType = typeof(TsneOptions),
    Description = "joint t-SNE map of the members' test predictions; figures by class and by misprediction")]
public sealed class TsneAnalysis(TsneOptions options) : IAnalysis
{
    /// <inheritdoc />
    public AnalysisOutput Run(AnalysisContext context)
    {
        using var scope = NewDisposeScope();
        var rows = MemberTables.SampleRows(context.TestRows, options.Points, context.Generator);
        int n = rows.Length, members = context.Members.Count;
        var index = tensor(rows, dtype: ScalarType.Int64);
        var probabilities = context.Members.Select(m => m.TestProbabilities.index_select(0, index).to_type(ScalarType.Float64)).ToList();
        var features = cat(probabilities, 0);
        if (options.LogProbabilities) features = features.clamp_min(1e-12).log();
        var labels = context.TestLabels.index_select(0, index);
        double perplexity = Math.Min(options.Perplexity, (n * members - 1) / 3.0);
        var conditional = Tsne.Conditional(Tsne.SquaredDistances(features), perplexity, out _);
        var p = Tsne.Joint(conditional);
        conditional.Dispose();
        var schedule = new TsneSchedule(options.Iterations, options.LearningRate, options.Exaggeration, options.ExaggerationIterations, options.MomentumSwitch);
        var (y, kl) = Tsne.Embed(p, schedule, context.Generator);
        int k = Math.Min(options.Neighbours, n * members - 1);
        var allLabels = labels.repeat(members);
        double purity = Tsne.KnnPurity(y, allLabels, k);

        var points = y.data<double>().ToArray();
        var label = labels.data<long>().ToArray();
        var values = new double[members][];
        var wrong = new bool[members][];
        for (int m = 0; m < members; m++)
        {
            var predicted = probabilities[m].argmax(1).data<long>().ToArray();
            wrong[m] = [.. predicted.Select((c, r) => c != label[r])];
            double distance = Enumerable.Range(0, n).Average(r => Math.Sqrt(Square(points[2 * (m * n + r)] - points[2 * r]) + Square(points[2 * (m * n + r) + 1] - points[2 * r + 1])));
            double own = Tsne.KnnPurity(y.narrow(0, m * n, n), labels, Math.Min(options.Neighbours, Math.Max(1, n - 1)));
            values[m] = [distance, own, wrong[m].Average(w => w ? 1.0 : 0.0)];
        }
        var table = new AnalysisTable("embedding", context.Members.Select(m => m.Name).ToList(), ["mean distance to parent", "knn class purity", "error rate"], values,
            $"per network: mean t-SNE map distance between its point and the parent's point of the same test row, kNN (k = {k}) class purity of its points, error rate on the {n} rows");
        var children = Enumerable.Range(0, members).Where(m => context.Members[m].ChildIndex >= 0).ToList();
        var figures = new[]
        {
            Figure(context, "by-class.png", points, n, (m, r) => Plots.Palette[(int)(label[r] % Plots.Palette.Length)],
                $"t-SNE map of {n} test rows × {members} networks (one panel each, common axes; perplexity {perplexity:G4}), coloured by true class (tab10)"),
            Figure(context, "by-misprediction.png", points, n, (m, r) => wrong[m][r] ? [0.84, 0.15, 0.16] : [0.75, 0.75, 0.75],
                "the same map coloured by each network's misprediction (red: wrong, grey: right)"),
        };
        context.Log($"{n} rows × {members} networks embedded, KL {kl:F4}, kNN purity {purity:F3}");
        return new AnalysisOutput
        {
            Scalars = new Dictionary<string, double>
            {
                ["kl"] = kl,
                ["knn_purity"] = purity,
                ["distance_to_parent"] = children.Count > 0 ? children.Average(m => values[m][0]) : double.NaN,
            },
            Tables = [table],
            Figures = figures,
        };
    }

    private static double Square(double v) => v * v;

    /// <summary>One scatter panel per network (point (m, r) coloured by <paramref name="colour"/>), four panels a row, common bounds.</summary>
    private static AnalysisFigure Figure(AnalysisContext context, string file, double[] points, int n, Func<int, int, double[]> colour, string caption)
    {
        using var scope = NewDisposeScope();
        int members = context.Members.Count;
        var xs = Enumerable.Range(0, points.Length / 2).Select(i => points[2 * i]).ToArray();
        var ys = Enumerable.Range(0, points.Length / 2).Select(i => points[2 * i + 1]).ToArray();
        var bounds = (xs.Min(), xs.Max(), ys.Min(), ys.Max());
        var panels = Enumerable.Range(0, members).Select(m => Plots.Scatter(xs[(m * n)..((m + 1) * n)], ys[(m * n)..((m + 1) * n)],
            Enumerable.Range(0, n).Select(r => colour(m, r)).ToList(), bounds)).ToList();
        var cells = panels.Chunk(4).Select(row => (IReadOnlyList<Tensor>)row).ToList();
        using var grid = ImageGrid.Compose(cells);
        string names = string.Join(", ", context.Members.Select(m => m.Name));
        return context.SaveImage(file, grid, $"{caption}; panels: {names}.");
    }
}
