using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Analyses.Internal;
using TorchSharp;
using static TorchSharp.torch;

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
    private static readonly (string Name, string Caption)[] Kinds =
    [
        ("ahash", "average hash, 64 bits"), ("phash", "perceptual (DCT) hash, 64 bits"), ("dhash", "difference hash, 64 bits"),
        ("whash", "wavelet (Haar) hash, 64 bits"), ("colorhash", "colour hash"),
    ];

    /// <inheritdoc />
    public AnalysisOutput Run(AnalysisContext context)
    {
        var rows = MemberTables.SampleRows(context.TestRows, options.Images, context.Generator);
        var images = Images(context, rows);
        // hashes[member][image][kind]
        var hashes = images.Select(member => member.Select(image => Hash(image)).ToList()).ToList();
        var tables = Kinds.Select((kind, k) => MemberTables.Pairwise(kind.Name, $"mean Hamming distance, {kind.Caption}{(k == 4 ? $" ({hashes[0][0][4].Length} bits)" : "")}",
            context.Members, (i, j) => hashes[i].Zip(hashes[j]).Average(p => ImageHashes.Hamming(p.First[k], p.Second[k])))).ToList();
        context.Log($"{rows.Length} rows × {context.Members.Count} networks hashed ({ConfigName(options.Source)})");
        return new AnalysisOutput
        {
            Scalars = new Dictionary<string, double>(tables.SelectMany(t => MemberTables.Summaries(t, context.Members))),
            Tables = tables,
        };
    }

    private bool[][] Hash((byte[,] Grey, byte[,,] Rgb) image) =>
        [ImageHashes.Average(image.Grey), ImageHashes.Perceptual(image.Grey), ImageHashes.Difference(image.Grey), ImageHashes.Wavelet(image.Grey),
            ImageHashes.Colour(image.Rgb, options.ColourBits)];

    /// <summary>Per member, per sampled row: the hashed image as grey [H, W] and RGB [H, W, 3] bytes.</summary>
    private List<List<(byte[,] Grey, byte[,,] Rgb)>> Images(AnalysisContext context, long[] rows)
    {
        if (options.Source == HashedImages.FeatureVis)
        {
            var settings = new FeatureVisOptions { Layer = options.Layer, Channels = options.Channels, Steps = options.Steps, LearningRate = options.LearningRate };
            var (_, _, images, _) = FeatureVisAnalysis.Images(context, settings);
            try { return images.Select(member => member.Select(InputImage).ToList()).ToList(); }
            finally { foreach (var t in images.SelectMany(m => m)) t.Dispose(); }
        }
        if (options.Source == HashedImages.Inputs)
        {
            using var batch = context.ReadTest(rows);
            var inputs = Enumerable.Range(0, rows.Length).Select(r => { using var row = batch.Inputs[r]; return InputImage(row); }).ToList();
            return context.Members.Select(_ => inputs).ToList();
        }
        var maps = SmoothGradAnalysis.Maps(context, rows, options.Samples, options.Noise, options.Gradient, options.Target);
        try
        {
            return maps.Select(m => Enumerable.Range(0, rows.Length).Select(r => { using var map = m[r]; return GreyImage(map); }).ToList()).ToList();
        }
        finally { foreach (var m in maps) m.Dispose(); }
    }

    /// <summary>A map [H, W] as grey bytes round(255 · (m − min)/(max − min)) (zeros when constant), with its RGB (r = g = b).</summary>
    internal static (byte[,] Grey, byte[,,] Rgb) GreyImage(Tensor map)
    {
        var bytes = Bytes(map);
        int h = (int)map.shape[0], w = (int)map.shape[1];
        var grey = new byte[h, w];
        var rgb = new byte[h, w, 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) grey[y, x] = rgb[y, x, 0] = rgb[y, x, 1] = rgb[y, x, 2] = bytes[y * w + x];
        return (grey, rgb);
    }

    private static (byte[,] Grey, byte[,,] Rgb) InputImage(Tensor input)
    {
        using var scope = NewDisposeScope();
        var chw = input.dim() == 3 ? input : input.reshape(1, 1, -1);
        if (chw.shape[0] != 3) return GreyImage(chw.mean([0]));
        var bytes = Bytes(chw.permute(1, 2, 0));
        int h = (int)chw.shape[1], w = (int)chw.shape[2];
        var rgb = new byte[h, w, 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++) rgb[y, x, c] = bytes[(y * w + x) * 3 + c];
        return (PillowImages.Grey(rgb), rgb);
    }

    /// <summary>The values of <paramref name="values"/> min–max scaled to bytes, in row-major order.</summary>
    private static byte[] Bytes(Tensor values)
    {
        using var scope = NewDisposeScope();
        var v = values.to_type(ScalarType.Float64).contiguous().cpu();
        double low = v.min().ToDouble(), span = v.max().ToDouble() - low;
        return v.data<double>().Select(x => span > 0 ? (byte)Math.Round(255 * (x - low) / span, MidpointRounding.AwayFromZero) : (byte)0).ToArray();
    }

    private static string ConfigName(HashedImages source) => source switch
    {
        HashedImages.Smoothgrad => "smoothgrad maps",
        HashedImages.FeatureVis => "feature visualisations",
        _ => "inputs",
    };
}
