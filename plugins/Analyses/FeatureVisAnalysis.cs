using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Analyses.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Analyses;

/// <summary>Options of <see cref="FeatureVisAnalysis"/> (YAML keys beside <c>type: feature-vis</c>); perceptual-hash's <c>source: feature-vis</c> reads the same.</summary>
public sealed class FeatureVisOptions : IValidatableOptions
{
    /// <summary>The layer, as named_modules names it (e.g. "conv2"); empty (default): the last Conv2d, else the last hidden Linear.</summary>
    public string Layer { get; init; } = "";

    /// <summary>Channels visualised: a seeded pick of this many of the layer's K channels (all when K is smaller), the same in every network, ≥ 1.</summary>
    public int Channels { get; init; } = 4;

    /// <summary>Adam steps on the input, ≥ 1.</summary>
    public int Steps { get; init; } = 1024;

    /// <summary>Adam's learning rate, &gt; 0.</summary>
    public double LearningRate { get; init; } = 0.05;

    /// <summary>Standard deviation of the seeded start noise, ≥ 0.</summary>
    public double Noise { get; init; } = 0.01;

    /// <summary>Also the perceptual-hash distances between the networks' images (tables ahash … colorhash, as perceptual-hash computes them); default true.</summary>
    public bool Hashes { get; init; } = true;

    /// <summary>Bits per fraction of the colour hash (imagehash's binbits), 1 … 8.</summary>
    public int ColourBits { get; init; } = 3;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Channels < 1) yield return $"channels: must be ≥ 1, got {Channels}";
        if (Steps < 1) yield return $"steps: must be ≥ 1, got {Steps}";
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) yield return $"learning_rate: must be a finite number > 0, got {LearningRate}";
        if (!(Noise >= 0) || double.IsInfinity(Noise)) yield return $"noise: must be a finite number ≥ 0, got {Noise}";
        if (ColourBits is < 1 or > 8) yield return $"colour_bits: must be 1 … 8, got {ColourBits}";
    }
}

/// <summary>
/// Feature visualisation (dissertation §7.3, Fig. 7.3): for a seeded pick of channels k of one layer, each network's
/// input x maximising the mean activation of channel k, found by Adam from a shared seeded start x₀ ~ N(0, noise²), each
/// step seeing x through the transformations jitter 8 px, scale 0.95–1.05, rotate ±5°, jitter 4 px (drawn once from the
/// generator and shared by every network and channel; image inputs only). The activation is read with a forward hook on
/// the layer. Table "activation": per network the mean activation a_k reached, per channel; table "rmse": member ×
/// member mean over channels of the RMSE between min–max normalised images (with the usual two summaries); with
/// hashes: true (default) also the tables ahash, phash, dhash, whash and colorhash of perceptual-hash (mean Hamming
/// distance over channels between the networks' images, each made a grey picture of its channel mean) and their
/// summaries, as the dissertation's Fig. 7.3 reports them. Figure features.png: rows channels, columns networks.
/// </summary>
[Plugin("feature-vis", PluginKind.Analysis, OptionsType = typeof(FeatureVisOptions),
    Description = "inputs maximising chosen channels of one layer per member (Adam, transformation robustness); grid figure")]
public sealed class FeatureVisAnalysis(FeatureVisOptions options) : IAnalysis
{
    /// <inheritdoc />
    public AnalysisOutput Run(AnalysisContext context)
    {
        var (layer, channels, images, activations) = Images(context, options);
        try
        {
            var normalised = images.Select(member => member.Select(ImageGrid.Picture).ToList()).ToList();
            try
            {
                var names = context.Members.Select(m => m.Name).ToList();
                var activation = new AnalysisTable("activation", names, [.. channels.Select(k => $"channel {k}")], activations,
                    $"mean activation of each channel of '{layer}' at the network's own optimised input");
                var rmse = MemberTables.Pairwise("rmse", "mean over channels of the RMSE between min–max normalised optimised inputs", context.Members,
                    (i, j) => normalised[i].Zip(normalised[j]).Average(p => { using var scope = NewDisposeScope(); return (p.First - p.Second).square().mean().sqrt().ToDouble(); }));
                var cells = channels.Select((_, c) => (IReadOnlyList<Tensor>)[.. normalised.Select(member => member[c])]).ToList();
                using var grid = ImageGrid.Compose(cells);
                var figure = context.SaveImage("features.png", grid,
                    $"inputs maximising channels {string.Join(", ", channels)} (rows) of layer '{layer}' for each network (columns: {string.Join(", ", names)}); each image min–max scaled.");
                context.Log($"{channels.Length} channels of '{layer}' × {names.Count} networks, {options.Steps} steps each");
                var hashes = options.Hashes
                    ? HashTables.Distances(images.Select(member => member.Select(HashTables.InputImage).ToList()).ToList(), context.Members, options.ColourBits)
                    : [];
                return new AnalysisOutput
                {
                    Scalars = new Dictionary<string, double>(hashes.Prepend(rmse).SelectMany(t => MemberTables.Summaries(t, context.Members))),
                    Tables = [activation, rmse, .. hashes],
                    Figures = [figure],
                };
            }
            finally { foreach (var t in normalised.SelectMany(m => m)) t.Dispose(); }
        }
        finally { foreach (var t in images.SelectMany(m => m)) t.Dispose(); }
    }

    /// <summary>
    /// The optimised inputs of every network of the context: images[member][c] [C, H, W] (or the input row's shape) on the
    /// CPU, owned by the caller, for channels[c] of the layer; activations[member][c] the mean activation reached. The
    /// channel pick and the plan are drawn from the context's generator, in that order.
    /// </summary>
    internal static (string Layer, long[] Channels, List<List<Tensor>> Images, double[][] Activations) Images(AnalysisContext context, FeatureVisOptions options)
    {
        var layers = context.Members.Select(m => FeatureVisualisation.FindLayer(m.Network, options.Layer)).ToList();
        long available = context.Members.Zip(layers).Min(p => FeatureVisualisation.Channels(p.First.Network, p.Second.Module, context.InputShape, context.Device));
        var channels = MemberTables.SampleRows(available, options.Channels, context.Generator);
        using var plan = FeatureVisualisation.Plan(context.InputShape, options.Steps, options.Noise, context.Generator);
        var images = new List<List<Tensor>>();
        var activations = new double[context.Members.Count][];
        for (int m = 0; m < context.Members.Count; m++)
        {
            var (batch, reached) = FeatureVisualisation.Maximise(context.Members[m].Network, layers[m].Module, channels, plan, options.Steps, options.LearningRate, context.Device);
            var row = Enumerable.Range(0, channels.Length).Select(c => batch[c]).ToList();
            batch.Dispose();
            activations[m] = reached;
            images.Add(row);
        }
        return (layers[0].Name, channels, images, activations);
    }
}
