using Microsoft.Extensions.DependencyInjection;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Experiments.Pipeline;
using SubnetworkEnsembles.Experiments.Plugins;

namespace SubnetworkEnsembles.Host;

/// <summary><c>sne predict</c>.</summary>
public static partial class Commands
{
    /// <summary>
    /// <c>sne predict RUN_DIR --input FILE</c>: the ensemble's probabilities, predicted class, predictive entropy and
    /// member disagreement for every row of FILE (IDX, .npy or CSV, in the dataset's units), as CSV.
    /// </summary>
    public static int Predict(string runDirectory, string input, string? output, bool verbose) => Guard(verbose, () =>
    {
        var (run, _) = OpenRun(runDirectory);
        var request = new RunRequest(run.ConfigFile, run.Path, [], [], false, verbose);
        using var logging = ConsoleLoggerFactory(request with { Quiet = true });
        var (config, catalog, device) = Resolve(request, logging.CreateLogger("sne"));
        var (shape, classes) = DatasetLoader.ShapeOf(config.Data);
        string target = OutputPaths.CheckFile(output ?? run.Combine("predictions", Path.GetFileNameWithoutExtension(input.TrimEnd('/')) + ".csv"), "--output");
        using var inputs = Experiments.Inference.InputReader.Read(input, config.Data, shape);
        using var services = new ServiceCollection().AddLogging().AddSubnetworkPlugins(catalog).BuildServiceProvider();
        using var predictor = new Experiments.Inference.EnsemblePredictor(run, config, services.GetRequiredService<PluginFactory>(), shape, classes, device);
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var onDevice = inputs.to(device);
        var (members, ensemble) = predictor.Predict(onDevice);
        var probabilities = ensemble.cpu().data<float>().ToArray();
        var predicted = ensemble.argmax(1).cpu().data<long>().ToArray();
        var entropy = Experiments.Inference.EnsemblePredictor.Entropy(ensemble).cpu().data<float>().ToArray();
        var disagreement = Experiments.Inference.EnsemblePredictor.Disagreement(members, ensemble).cpu().data<float>().ToArray();
        var text = new System.Text.StringBuilder();
        text.AppendLine("row," + string.Join(',', Enumerable.Range(0, classes).Select(c => $"p{c}")) + ",predicted,entropy,disagreement");
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        for (int r = 0; r < predicted.Length; r++)
        {
            text.Append(r.ToString(inv));
            for (int c = 0; c < classes; c++) text.Append(',').Append(probabilities[r * classes + c].ToString("G6", inv));
            text.Append(',').Append(predicted[r].ToString(inv)).Append(',').Append(entropy[r].ToString("G6", inv)).Append(',').Append(disagreement[r].ToString("G6", inv)).AppendLine();
        }
        OutputPaths.CreateParent(target, "--output");
        RunDirectory.WriteAllTextAtomic(target, text.ToString());
        Console.WriteLine($"{predicted.Length} rows → {target} (ensemble of {predictor.MemberIndices.Count} members; columns row, p0…p{classes - 1}, predicted, entropy, disagreement)");
        return ExitCodes.Ok;
    });
}
