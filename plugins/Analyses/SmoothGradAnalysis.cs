using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Analyses.Internal;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Analyses;

/// <summary>Options of <see cref="SmoothGradAnalysis"/> (YAML keys beside <c>type: smoothgrad</c>).</summary>
public sealed class SmoothGradOptions : IValidatableOptions
{
    /// <summary>Test rows in the seeded sample (fewer when the test split is smaller), ≥ 1.</summary>
    public int Images { get; init; } = 16;

    /// <summary>Noisy copies averaged per row (Smilkov et al.'s n), ≥ 1.</summary>
    public int Samples { get; init; } = 50;

    /// <summary>Noise level: σ = noise · (max x − min x) of each row (Smilkov et al. recommend 0.1–0.2), ≥ 0.</summary>
    public double Noise { get; init; } = 0.15;

    /// <summary>absolute: |∂ logit/∂x| (default); squared: (∂ logit/∂x)².</summary>
    public GradientMagnitude Gradient { get; init; } = GradientMagnitude.Absolute;

    /// <summary>label: the logit of the true class (default); prediction: of each member's own predicted class.</summary>
    public SaliencyTarget Target { get; init; } = SaliencyTarget.Label;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Images < 1) yield return $"images: must be ≥ 1, got {Images}";
        if (Samples < 1) yield return $"samples: must be ≥ 1, got {Samples}";
        if (!(Noise >= 0) || double.IsInfinity(Noise)) yield return $"noise: must be a finite number ≥ 0, got {Noise}";
    }
}

/// <summary>
/// SmoothGrad saliency maps (Smilkov et al. 2017; dissertation §7.3, Fig. 7.4) of a seeded sample of test rows for the
/// parent and every member: M(x) = (1/S) Σₛ |∂ f_y(x + εₛ)/∂x|, εₛ ~ N(0, (noise · (max x − min x))²), summed over
/// channels. Each map is min–max normalised to [0, 1]; the table "rmse" holds the member × member mean over rows of the
/// root-mean-square difference of their maps, with its means between children and to the parent as scalars. The figure
/// maps.png is a grid: one row per sampled image, the input first, then each member's map (white = salient).
/// </summary>
[Plugin("smoothgrad", PluginKind.Analysis, OptionsType = typeof(SmoothGradOptions),
    Description = "SmoothGrad saliency maps per member, pairwise RMSE between them, a grid figure")]
public sealed class SmoothGradAnalysis(SmoothGradOptions options) : IAnalysis
{
    /// <inheritdoc />
    public AnalysisOutput Run(AnalysisContext context)
    {
        var rows = MemberTables.SampleRows(context.TestRows, options.Images, context.Generator);
        var maps = Maps(context, rows, options.Samples, options.Noise, options.Gradient, options.Target);
        try
        {
            var normalised = maps.Select(SmoothGradMaps.Normalised).ToList();
            try
            {
                var rmse = MemberTables.Pairwise("rmse", "mean RMSE between min–max normalised SmoothGrad maps", context.Members,
                    (i, j) => SmoothGradMaps.MeanRmse(normalised[i], normalised[j]));
                var figure = Figure(context, rows, normalised);
                context.Log($"{rows.Length} rows × {context.Members.Count} networks, {options.Samples} noisy copies each");
                return new AnalysisOutput
                {
                    Scalars = new Dictionary<string, double>(MemberTables.Summaries(rmse, context.Members)),
                    Tables = [rmse],
                    Figures = [figure],
                };
            }
            finally { foreach (var t in normalised) t.Dispose(); }
        }
        finally { foreach (var t in maps) t.Dispose(); }
    }

    /// <summary>
    /// The SmoothGrad maps of test rows <paramref name="rows"/> for every member of the context, float32 [n, H, W] each on
    /// the CPU (owned by the caller); the noise is drawn once from the context's generator and shared by the members.
    /// </summary>
    internal static List<Tensor> Maps(AnalysisContext context, long[] rows, int samples, double noise, GradientMagnitude magnitude, SaliencyTarget target)
    {
        using var batch = context.ReadTest(rows);
        using var standardNoise = SmoothGradMaps.DrawNoise(batch.Inputs, samples, context.Generator);
        return context.Members.Select(m => SmoothGradMaps.Compute(m.Network, batch.Inputs, batch.Labels, standardNoise, noise, magnitude, target)).ToList();
    }

    private static AnalysisFigure Figure(AnalysisContext context, long[] rows, IReadOnlyList<Tensor> normalised)
    {
        using var scope = NewDisposeScope();
        using var batch = context.ReadTest(rows);
        var cells = new List<IReadOnlyList<Tensor>>();
        for (int r = 0; r < rows.Length; r++)
        {
            var row = new List<Tensor> { ImageGrid.Picture(batch.Inputs[r]) };
            row.AddRange(normalised.Select(m => m[r].to_type(ScalarType.Float32).unsqueeze(0)));
            cells.Add(row);
        }
        using var grid = ImageGrid.Compose(cells);
        string columns = string.Join(", ", context.Members.Select(m => m.Name));
        return context.SaveImage("maps.png", grid,
            $"SmoothGrad saliency of {rows.Length} sampled test rows (one per row of the grid): the input, then the normalised map of each network ({columns}); white = most salient.");
    }
}
