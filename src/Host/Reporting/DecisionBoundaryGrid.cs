using ScottPlot;
using SkiaSharp;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Training;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Host.Reporting;

/// <summary>
/// Decision boundaries of perturbed children of a 2-D parent (dissertation §4.3.1): a grid of panels over
/// mutation strength σ (Gaussian noise, plugin <c>noise</c>) × sparsity of the subnetwork left unperturbed (plugin
/// <c>bernoulli</c>: a fraction 1 − sparsity of the weights is perturbed), no tuning. Each panel shows p(class 1) over
/// [−1.2, 1.2]² with the test points; the top-left panel is the parent itself. Child (i, j) uses the seeds of child
/// index i·columns + j of a stream of its own, so the figure is reproducible.
/// </summary>
public static class DecisionBoundaryGrid
{
    /// <summary>Mutation strengths σ of the rows (0: the parent's panel), up to the dissertation's 0.25.</summary>
    public static readonly double[] Sigmas = [0, 0.05, 0.1, 0.2, 0.25];

    /// <summary>
    /// Sparsities of the columns (fraction of weights left unperturbed), from dense noise (0: every weight perturbed) to
    /// 0.9 — the contrast of §4.3.1: sparse mutations keep working boundaries at strengths where dense ones collapse.
    /// </summary>
    public static readonly double[] Sparsities = [0, 0.5, 0.9];

    private const int Panel = 300, Resolution = 80;

    /// <summary>Draws the grid into <paramref name="file"/>; null when the data is not 2-D or the noise/bernoulli plugins are not available.</summary>
    public static Figure? Draw(string file, ExperimentConfig config, DataSplits data, RunDirectory run, PluginFactory plugins, PluginCatalog catalog)
    {
        if (data.InputShape is not [2] || data.Classes != 2) return null;
        var noise = catalog.Find(PluginKind.Perturbation, "noise");
        var bernoulli = catalog.Find(PluginKind.Sampler, "bernoulli");
        if (noise?.OptionsType is null || bernoulli?.OptionsType is null) return null;
        var noiseSpec = new PluginSpec { Type = "noise", Kind = PluginKind.Perturbation, BoundOptions = Activator.CreateInstance(noise.OptionsType) };
        var samplerSpec = new PluginSpec { Type = "bernoulli", Kind = PluginKind.Sampler, BoundOptions = Activator.CreateInstance(bernoulli.OptionsType) };

        using var parent = RunDirectory.LoadModel(plugins, config.Model, data.InputShape, data.Classes, run.ParentCheckpoint);
        using var mesh = Mesh(out double[] axis);
        using var testInputs = data.Test.ReadRange(0, data.Test.Count);
        var testPoints = testInputs.cpu().data<float>().ToArray();
        var testLabels = data.Test.Labels.cpu().data<long>().ToArray();

        using var surface = SKSurface.Create(new SKImageInfo(Panel * Sparsities.Length, Panel * Sigmas.Length));
        surface.Canvas.Clear(SKColors.White);
        for (int r = 0; r < Sigmas.Length; r++)
        {
            for (int c = 0; c < Sparsities.Length; c++)
            {
                using var child = plugins.Build(config.Model, data.InputShape, data.Classes, Seeds.Generator(config.Seed, "decision-grid-init", c));
                child.CopyFrom(parent);
                if (Sigmas[r] > 0)
                {
                    var sampler = plugins.Create<ISubnetworkSampler>(samplerSpec, new Dictionary<string, object> { ["sparsity"] = Sparsities[c] });
                    var perturbation = plugins.Create<IPerturbation>(noiseSpec, new Dictionary<string, object> { ["sigma"] = Sigmas[r] });
                    int index = r * Sparsities.Length + c;
                    using var g = Seeds.Generator(config.Seed, "decision-grid-sampler", index);
                    var masks = sampler.SampleSet(child.MaskableWeights, g);
                    using var own = Seeds.Generator(config.Seed, "decision-grid-perturbation", index);
                    perturbation.Apply(child.MaskableWeights, masks[0], new PerturbationContext(index, index, 0, 1, config.Seed, own, own));
                    foreach (var m in masks) m.Dispose();
                    // Noise perturbs the kept entries; the rest stay the parent's. Restore full masks so nothing is pruned.
                    foreach (var l in child.MaskedLayers) { l.Mask.fill_(1); l.RefreshMaskState(); }
                }
                using var probs = Evaluator.Probabilities(child, mesh);
                var p1 = probs.select(1, 1).data<float>().ToArray();
                string title = Sigmas[r] == 0 ? "parent" : $"σ={Sigmas[r]:0.###}, " + (Sparsities[c] == 0 ? "dense (all perturbed)" : $"perturbed {1 - Sparsities[c]:P0}");
                using var image = SKImage.FromEncodedData(PanelPng(axis, p1, testPoints, testLabels, title));
                surface.Canvas.DrawImage(image, c * Panel, r * Panel);
                if (Sigmas[r] == 0) break;   // one parent panel
            }
        }
        using var snapshot = surface.Snapshot();
        using var png = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        RunDirectory.WriteAtomic(file, tmp => { using var output = File.Create(tmp); png.SaveTo(output); });
        return new Figure(Path.GetFileName(file), "Decision boundaries: mutation strength × sparsity",
            $"p(class 1) of children made by adding 𝒩(0, σ²) noise to a random {string.Join("/", Sparsities.Select(s => $"{1 - s:P0}"))} of the parent's weights " +
            $"(rows σ = {string.Join(", ", Sigmas.Skip(1))}; no tuning); the first panel is the parent. Dots: test points by class.");
    }

    private static Tensor Mesh(out double[] axis)
    {
        axis = Enumerable.Range(0, Resolution).Select(i => -1.2 + 2.4 * i / (Resolution - 1)).ToArray();
        var points = new float[Resolution * Resolution * 2];
        for (int y = 0; y < Resolution; y++)
            for (int x = 0; x < Resolution; x++)
            {
                points[(y * Resolution + x) * 2] = (float)axis[x];
                points[(y * Resolution + x) * 2 + 1] = (float)axis[Resolution - 1 - y];   // row 0 at the top
            }
        return tensor(points, [Resolution * Resolution, 2]);
    }

    private static byte[] PanelPng(double[] axis, float[] p1, float[] test, long[] labels, string title)
    {
        var values = new double[Resolution, Resolution];
        for (int y = 0; y < Resolution; y++)
            for (int x = 0; x < Resolution; x++) values[y, x] = p1[y * Resolution + x];
        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(values);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.Extent = new CoordinateRect(axis[0], axis[^1], axis[0], axis[^1]);
        for (int cls = 0; cls < 2; cls++)
        {
            var idx = Enumerable.Range(0, labels.Length).Where(i => labels[i] == cls).ToArray();
            var s = plot.Add.ScatterPoints(idx.Select(i => (double)test[2 * i]).ToArray(), idx.Select(i => (double)test[2 * i + 1]).ToArray());
            s.Color = cls == 0 ? Colors.White : Colors.Black;
            s.MarkerSize = 3;
        }
        plot.Title(title, size: 12);
        plot.Axes.SetLimits(axis[0], axis[^1], axis[0], axis[^1]);
        return plot.GetImageBytes(Panel, Panel, ImageFormat.Png);
    }
}
