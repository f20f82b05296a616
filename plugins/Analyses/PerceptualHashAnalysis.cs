using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Analyses.Internal;

namespace SubnetworkEnsembles.Analyses;

/// <summary>What <see cref="PerceptualHashAnalysis"/> hashes.</summary>
public enum HashedImages
{
    /// <summary>Each network's SmoothGrad saliency maps of the sampled rows (dissertation Fig. 7.4).</summary>
    Smoothgrad,
    /// <summary>The sampled input rows themselves: the same images for every network (all distances 0), a control for the hashes.</summary>
    Inputs,
    /// <summary>Each network's feature visualisations (one image per channel; dissertation Fig. 7.3), made as feature-vis makes them.</summary>
    FeatureVis,
}

/// <summary>Options of <see cref="PerceptualHashAnalysis"/> (YAML keys beside <c>type: perceptual-hash</c>).</summary>
public sealed class PerceptualHashOptions : IValidatableOptions
{
    /// <summary>smoothgrad: hash each network's SmoothGrad maps (default); inputs: hash the sampled rows themselves.</summary>
    public HashedImages Source { get; init; } = HashedImages.Smoothgrad;

    /// <summary>Test rows in the seeded sample (fewer when the test split is smaller), ≥ 1.</summary>
    public int Images { get; init; } = 16;

    /// <summary>SmoothGrad: noisy copies averaged per row, ≥ 1.</summary>
    public int Samples { get; init; } = 50;

    /// <summary>SmoothGrad: σ = noise · (max x − min x) of each row, ≥ 0.</summary>
    public double Noise { get; init; } = 0.15;

    /// <summary>SmoothGrad: absolute (default) or squared gradients.</summary>
    public GradientMagnitude Gradient { get; init; } = GradientMagnitude.Absolute;

    /// <summary>SmoothGrad: the logit of the label (default) or of each network's prediction.</summary>
    public SaliencyTarget Target { get; init; } = SaliencyTarget.Label;

    /// <summary>Feature visualisation: the layer (empty: the last Conv2d, else the last hidden Linear).</summary>
    public string Layer { get; init; } = "";

    /// <summary>Feature visualisation: channels in the seeded pick (one hashed image per channel), ≥ 1.</summary>
    public int Channels { get; init; } = 4;

    /// <summary>Feature visualisation: Adam steps, ≥ 1.</summary>
    public int Steps { get; init; } = 1024;

    /// <summary>Feature visualisation: Adam's learning rate, &gt; 0.</summary>
    public double LearningRate { get; init; } = 0.05;

    /// <summary>Bits per fraction of the colour hash (imagehash's binbits), 1 … 8.</summary>
    public int ColourBits { get; init; } = 3;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Images < 1) yield return $"images: must be ≥ 1, got {Images}";
        if (Samples < 1) yield return $"samples: must be ≥ 1, got {Samples}";
        if (!(Noise >= 0) || double.IsInfinity(Noise)) yield return $"noise: must be a finite number ≥ 0, got {Noise}";
        if (Channels < 1) yield return $"channels: must be ≥ 1, got {Channels}";
        if (Steps < 1) yield return $"steps: must be ≥ 1, got {Steps}";
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) yield return $"learning_rate: must be a finite number > 0, got {LearningRate}";
        if (ColourBits is < 1 or > 8) yield return $"colour_bits: must be 1 … 8, got {ColourBits}";
    }
}

/// <summary>
/// Perceptual hashes (dissertation §7.3.1, Fig. 7.3/7.4) of each network's images — its SmoothGrad maps of a seeded
/// sample of test rows (or the rows themselves) — as Python's imagehash 4.3 defines them: average (ahash), perceptual
/// DCT (phash), difference (dhash) and Haar wavelet (whash) hashes of 64 bits and the colour hash (colorhash, 14 ×
/// colour_bits bits). A map becomes an 8-bit grey image by min–max scaling, round(255 · (m − min)/(max − min)); an input
/// row likewise over all its channels (3 channels are RGB, any other count is averaged to grey). One table per hash: the
/// member × member mean Hamming distance over the rows, with its means between children and to the parent as scalars.
/// With source: feature-vis the images are the networks' feature visualisations (one per channel, as feature-vis makes
/// them, a grey image of the channel mean unless the input has 3 channels) instead of maps of rows.
/// </summary>
[Plugin("perceptual-hash", PluginKind.Analysis, OptionsType = typeof(PerceptualHashOptions),
    Description = "ahash, phash, dhash, whash and colour hash of members' saliency maps; pairwise Hamming distances")]
public sealed class PerceptualHashAnalysis(PerceptualHashOptions options) : IAnalysis
{
    /// <inheritdoc />
    public AnalysisOutput Run(AnalysisContext context)
    {
        // Feature visualisations draw their channels and plan first, as feature-vis does (same generator → same images).
        var rows = options.Source == HashedImages.FeatureVis ? [] : MemberTables.SampleRows(context.TestRows, options.Images, context.Generator);
        var images = Images(context, rows);
        var tables = HashTables.Distances(images, context.Members, options.ColourBits);
        context.Log($"{images[0].Count} images × {context.Members.Count} networks hashed ({ConfigName(options.Source)})");
        return new AnalysisOutput
        {
            Scalars = new Dictionary<string, double>(tables.SelectMany(t => MemberTables.Summaries(t, context.Members))),
            Tables = tables,
        };
    }

    /// <summary>Per member, per sampled row: the hashed image as grey [H, W] and RGB [H, W, 3] bytes.</summary>
    private List<List<(byte[,] Grey, byte[,,] Rgb)>> Images(AnalysisContext context, long[] rows)
    {
        if (options.Source == HashedImages.FeatureVis)
        {
            var settings = new FeatureVisOptions { Layer = options.Layer, Channels = options.Channels, Steps = options.Steps, LearningRate = options.LearningRate };
            var (_, _, images, _) = FeatureVisAnalysis.Images(context, settings);
            try { return images.Select(member => member.Select(HashTables.InputImage).ToList()).ToList(); }
            finally { foreach (var t in images.SelectMany(m => m)) t.Dispose(); }
        }
        if (options.Source == HashedImages.Inputs)
        {
            using var batch = context.ReadTest(rows);
            var inputs = Enumerable.Range(0, rows.Length).Select(r => { using var row = batch.Inputs[r]; return HashTables.InputImage(row); }).ToList();
            return context.Members.Select(_ => inputs).ToList();
        }
        var maps = SmoothGradAnalysis.Maps(context, rows, options.Samples, options.Noise, options.Gradient, options.Target);
        try
        {
            return maps.Select(m => Enumerable.Range(0, rows.Length).Select(r => { using var map = m[r]; return HashTables.GreyImage(map); }).ToList()).ToList();
        }
        finally { foreach (var m in maps) m.Dispose(); }
    }

    private static string ConfigName(HashedImages source) => source switch
    {
        HashedImages.Smoothgrad => "smoothgrad maps",
        HashedImages.FeatureVis => "feature visualisations",
        _ => "inputs",
    };
}
