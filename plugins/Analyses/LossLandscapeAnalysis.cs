using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Analyses.Internal;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Analyses;

/// <summary>Which split <see cref="LossLandscapeAnalysis"/> evaluates the loss on.</summary>
public enum LandscapeRows
{
    /// <summary>Training rows (before augmentation); test rows when the host gives no training split.</summary>
    Training,
    /// <summary>Test rows.</summary>
    Test,
}

/// <summary>Options of <see cref="LossLandscapeAnalysis"/> (YAML keys beside <c>type: loss-landscape</c>).</summary>
public sealed class LossLandscapeOptions : IValidatableOptions
{
    /// <summary>Rows in the seeded sample the loss is the mean over (fewer when the split is smaller), ≥ 1.</summary>
    public int Rows { get; init; } = 1000;

    /// <summary>training (default) or test rows.</summary>
    public LandscapeRows Split { get; init; } = LandscapeRows.Training;

    /// <summary>Grid points per axis, ≥ 1 (odd counts put a point on the unperturbed network).</summary>
    public int Resolution { get; init; } = 21;

    /// <summary>Half-width of the square [−span, span]² in units of the filter-normalised directions, &gt; 0.</summary>
    public double Span { get; init; } = 1.0;

    /// <summary>Index of the child whose surfaces are drawn (after and before tuning); −1 (default): the first child in the ensemble.</summary>
    public int Child { get; init; } = -1;

    /// <summary>Also draw the child before tuning (when the host can regenerate it).</summary>
    public bool Untuned { get; init; } = true;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Rows < 1) yield return $"rows: must be ≥ 1, got {Rows}";
        if (Resolution < 1) yield return $"resolution: must be ≥ 1, got {Resolution}";
        if (!(Span > 0) || double.IsInfinity(Span)) yield return $"span: must be a finite number > 0, got {Span}";
        if (Child < -1) yield return $"child: must be ≥ 0, or −1 for the first child, got {Child}";
    }
}

/// <summary>
/// 2-D loss surfaces (Li et al. 2018; dissertation §5.3.2, Fig. 5.7) around the parent and around one child after and
/// (via the host's regeneration) before tuning: L(θ + a·δ + b·η) on a resolution × resolution grid of (a, b) ∈
/// [−span, span]², where δ and η are two standard normal draws from the generator (shared by all networks of one
/// architecture) that are
/// filter-normalised against each network — every filter / output row i of every weight: d_i ← d_i/‖d_i‖ · ‖θ_i‖;
/// biases and norm parameters get 0. In a pruned child the directions are multiplied by the weight's mask, so pruned
/// entries stay 0 and the norms count only the kept weights. L is the host's training loss (context.Loss) on a seeded
/// sample of rows. Tables (one per network, e.g. "parent", "child_0", "child_0_untuned"): values[r][c] at
/// b = coordinate r, a = coordinate c. Scalars per network: NAME_centre (L at 0, 0 when resolution is odd, else the
/// grid's minimum), NAME_mean and NAME_max over the grid. Figure surfaces.png: one heat map with contours per network.
/// </summary>
[Plugin("loss-landscape", PluginKind.Analysis, OptionsType = typeof(LossLandscapeOptions),
    Description = "2-D filter-normalised loss surfaces around the parent and a child before/after tuning")]
public sealed class LossLandscapeAnalysis(LossLandscapeOptions options) : IAnalysis
{
    /// <inheritdoc />
    public AnalysisOutput Run(AnalysisContext context)
    {
        bool training = options.Split == LandscapeRows.Training && context.ReadTrainingRows is not null && context.TrainingRows > 0;
        var rows = MemberTables.SampleRows(training ? context.TrainingRows : context.TestRows, options.Rows, context.Generator);
        var coordinates = LossSurface.Coordinates(options.Resolution, options.Span);
        var parent = context.Members.First(m => m.ChildIndex < 0);
        // Raw directions per parameter-shape signature: the same draws for every network of the parent's architecture.
        var raw = new Dictionary<string, (List<Tensor> Delta, List<Tensor> Eta)>();
        var surfaces = new List<(string Key, string Name, double[][] Values)>();
        try
        {
            using var batch = training ? context.ReadTrainingRows!(rows) : context.ReadTest(rows);
            void Add(string key, string name, nn.Module<Tensor, Tensor> network)
            {
                string signature = string.Join(";", network.parameters().Select(p => string.Join(",", p.shape)));
                if (!raw.TryGetValue(signature, out var draws))
                    raw[signature] = draws = (LossSurface.RawDirection(network, context.Generator), LossSurface.RawDirection(network, context.Generator));
                var delta = LossSurface.Normalised(network, draws.Delta);
                var eta = LossSurface.Normalised(network, draws.Eta);
                try { surfaces.Add((key, name, LossSurface.Grid(network, delta, eta, batch.Inputs, batch.Labels, context.Loss, coordinates))); }
                finally { foreach (var t in delta.Concat(eta)) t.Dispose(); }
            }
            Add("parent", "parent", parent.Network);
            var child = options.Child >= 0 ? context.Members.FirstOrDefault(m => m.ChildIndex == options.Child) : context.Members.FirstOrDefault(m => m.ChildIndex >= 0);
            if (options.Child >= 0 && child is null)
                throw new ArgumentException($"child: {options.Child} is not a member of the ensemble (members: {string.Join(", ", context.Members.Select(m => m.Name))})");
            if (child is not null)
            {
                Add($"child_{child.ChildIndex}", child.Name, child.Network);
                if (options.Untuned && context.BuildUntunedChild is not null)
                {
                    using var untuned = context.BuildUntunedChild(child.ChildIndex);
                    Add($"child_{child.ChildIndex}_untuned", child.Name + " before tuning", untuned);
                }
            }
        }
        finally { foreach (var t in raw.Values.SelectMany(r => r.Delta.Concat(r.Eta))) t.Dispose(); }

        string Axis(double v) => v.ToString("G4", System.Globalization.CultureInfo.InvariantCulture);
        var tables = surfaces.Select(s => new AnalysisTable(s.Key, coordinates.Select(b => "b=" + Axis(b)).ToList(), coordinates.Select(a => "a=" + Axis(a)).ToList(), s.Values,
            $"{s.Name}: loss on {rows.Length} {(training ? "training" : "test")} rows at θ + a·δ + b·η (filter-normalised random directions)")).ToList();
        var scalars = new Dictionary<string, double>();
        int middle = options.Resolution / 2;
        foreach (var (key, _, values) in surfaces)
        {
            var all = values.SelectMany(r => r).ToList();
            scalars[key + "_centre"] = options.Resolution % 2 == 1 ? values[middle][middle] : all.Min();
            scalars[key + "_mean"] = all.Average();
            scalars[key + "_max"] = all.Max();
        }
        context.Log($"{surfaces.Count} surfaces of {options.Resolution}² points on {rows.Length} {(training ? "training" : "test")} rows");
        return new AnalysisOutput { Scalars = scalars, Tables = tables, Figures = [Figure(context, surfaces)] };
    }

    /// <summary>Heat maps of ln L with contours, one per network, on one colour scale.</summary>
    private AnalysisFigure Figure(AnalysisContext context, IReadOnlyList<(string Key, string Name, double[][] Values)> surfaces)
    {
        using var scope = NewDisposeScope();
        var logs = surfaces.Select(s => s.Values.Select(r => r.Select(v => Math.Log(Math.Max(v, 1e-12))).ToArray()).ToArray()).ToList();
        var finite = logs.SelectMany(l => l.SelectMany(r => r)).Where(double.IsFinite).DefaultIfEmpty(0).ToList();
        double low = finite.Min(), high = finite.Max();
        var panels = logs.Select(l => Plots.Heatmap(l, low, high)).ToList();
        using var grid = ImageGrid.Compose([panels]);
        return context.SaveImage("surfaces.png", grid,
            $"ln(loss) over a, b ∈ [−{options.Span}, {options.Span}] (a right, b up; dark blue {Math.Exp(low):G3} → yellow {Math.Exp(high):G3}, 12 contour levels, white mark: the trained network); panels: {string.Join(", ", surfaces.Select(s => s.Name))}.");
    }
}
