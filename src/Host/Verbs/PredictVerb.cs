using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using SubnetworkEnsembles.Experiments.Inference;
using SubnetworkEnsembles.Host.Logging;

namespace SubnetworkEnsembles.Host.Verbs;

/// <summary>
/// <c>sne predict RUN_DIR --input FILE</c>: the ensemble's probabilities, predicted class, predictive entropy and
/// member disagreement for every row of FILE (IDX, .npy or CSV, in the dataset's units), as CSV.
/// </summary>
public sealed class PredictVerb
{
    /// <summary>The verb's command, with its options and action.</summary>
    public Command Command { get; }

    /// <summary>Creates <c>sne predict</c> over the shared options of <paramref name="context"/>.</summary>
    public PredictVerb(VerbContext context)
    {
        var o = context.Options;
        var input = new Option<string>("--input", "-i") { Description = "Rows to predict: IDX (.gz), .npy or CSV, in the dataset's units (Fashion-MNIST pixels 0…255)", Required = true };
        var output = new Option<string?>("--output") { Description = "The CSV to write (default: RUN_DIR/predictions/<input name>.csv)" };
        Command = new Command("predict", "Predict with a finished run's ensemble: per row the class probabilities, predicted class, predictive entropy and member disagreement.\n" +
            "Example: sne predict runs/fashion --input /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --output predictions.csv")
        { o.RunDirectory, input, output, o.Plugins, o.Verbose };
        Command.SetAction(r => Execute(r.GetValue(o.RunDirectory)!, r.GetValue(input)!, r.GetValue(output), r.GetValue(o.Verbose), r.GetValue(o.Plugins) ?? []));
    }

    /// <summary>
    /// Writes the CSV (columns row, p0…p(C−1), predicted, entropy, disagreement) to <paramref name="output"/> or
    /// RUN_DIR/predictions/; plugins are looked up in the run's own plugin directories and <paramref name="pluginDirectories"/>.
    /// </summary>
    public static int Execute(string runDirectory, string input, string? output, bool verbose, IReadOnlyList<string>? pluginDirectories = null) => CommandErrors.Guard(verbose, () =>
    {
        var (run, _) = ExistingRun.Open(runDirectory);
        var request = new RunRequest(run.ConfigFile, run.Path, [], pluginDirectories ?? [], false, verbose);
        using var logging = ConsoleLogging.CreateFactory(request with { Quiet = true });
        var (config, catalog, device) = Commands.Resolve(request, logging.CreateLogger("sne"));
        var description = DataDescription.Of(run, () => Experiment.FromConfig(config).WithPlugins(catalog).LoadData());
        var (shape, classes) = (description.InputShape, description.Classes);
        string target = OutputPaths.CheckFile(output ?? run.Combine("predictions", Path.GetFileNameWithoutExtension(input.TrimEnd('/')) + ".csv"), "--output");
        using var inputs = InputReader.Read(input, description);
        using var services = new ServiceCollection().AddLogging().AddSubnetworkPlugins(catalog).BuildServiceProvider();
        using var predictor = new EnsemblePredictor(run, config, services.GetRequiredService<PluginFactory>(), shape, classes, device);
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var onDevice = inputs.to(device);
        var (members, ensemble) = predictor.Predict(onDevice);
        var probabilities = ensemble.cpu().data<float>().ToArray();
        var predicted = ensemble.argmax(1).cpu().data<long>().ToArray();
        var entropy = EnsemblePredictor.Entropy(ensemble).cpu().data<float>().ToArray();
        var disagreement = EnsemblePredictor.Disagreement(members, ensemble).cpu().data<float>().ToArray();
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
