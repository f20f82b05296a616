using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using SubnetworkEnsembles.Experiments.Inference;
using SubnetworkEnsembles.Host.Logging;

namespace SubnetworkEnsembles.Host.Verbs;

/// <summary>
/// <c>sne export RUN_DIR --child i --format pt|safetensors</c>: one member of a run as a PyTorch or safetensors state dict
/// (see <see cref="MemberExport"/>): a compact child expanded to the parent's shapes by default.
/// </summary>
public sealed class ExportVerb
{
    /// <summary>The verb's command, with its options and action.</summary>
    public Command Command { get; }

    /// <summary>Creates <c>sne export</c> over the shared options of <paramref name="context"/>.</summary>
    public ExportVerb(VerbContext context)
    {
        var o = context.Options;
        var child = new Option<int?>("--child") { Description = "The child to export (0-based index); without it, --parent" };
        var parent = new Option<bool>("--parent") { Description = "Export the parent" };
        var format = new Option<ExportFormat>("--format") { Description = "pt (a PyTorch state_dict for torch.load) or safetensors", DefaultValueFactory = _ => ExportFormat.Pt };
        var layout = new Option<ExportLayout>("--layout")
        {
            Description = "dense: the parent's shapes (a compact child expanded, removed units zero); compact: a compact child's own smaller shapes",
            DefaultValueFactory = _ => ExportLayout.Dense,
        };
        var keepMasks = new Option<bool>("--keep-masks") { Description = "Write weights as trained plus {layer}.weight_mask buffers (default: masks applied, W ⊙ M, no mask keys)" };
        var output = new Option<string?>("--output", "-o") { Description = "The file to write (default: RUN_DIR/export/child-NNN.pt, parent.safetensors, …)" };
        Command = new Command("export", "Write one member of a run (the parent or a child) as a PyTorch (.pt) or safetensors state dict with the model's key names.\n" +
            "Example: sne export runs/fashion --child 3 --format safetensors")
        { o.RunDirectory, child, parent, format, layout, keepMasks, output, o.Plugins, o.Verbose };
        Command.SetAction(r => Execute(r.GetValue(o.RunDirectory)!, r.GetValue(child), r.GetValue(parent), r.GetValue(format), r.GetValue(layout),
            r.GetValue(keepMasks), r.GetValue(output), r.GetValue(o.Verbose), r.GetValue(o.Plugins) ?? []));
    }

    /// <summary>Writes the member; exit 2 for a member the run does not have or a bad option.</summary>
    public static int Execute(string runDirectory, int? child, bool parent, ExportFormat format, ExportLayout layout, bool keepMasks, string? output,
        bool verbose, IReadOnlyList<string>? pluginDirectories = null) => CommandErrors.Guard(verbose, () =>
    {
        if (child is null == !parent) throw new UsageException("export needs exactly one of --child i and --parent");
        if (child < 0) throw new UsageException($"--child: a child index is 0 or more, got {child} (use --parent for the parent)");
        var (run, _) = ExistingRun.Open(runDirectory);
        var request = new RunRequest(run.ConfigFile, run.Path, [], pluginDirectories ?? [], false, verbose);
        using var logging = ConsoleLogging.CreateFactory(request with { Quiet = true });
        var (config, catalog, _) = Commands.Resolve(request, logging.CreateLogger("sne"));
        var description = DataDescription.Of(run, () => Experiment.FromConfig(config).WithPlugins(catalog).LoadData());
        int index = child ?? -1;
        string extension = format == ExportFormat.Pt ? ".pt" : ".safetensors";
        string target = OutputPaths.CheckFile(output ?? run.Combine("export", (index < 0 ? "parent" : $"child-{index:D3}") + extension), "--output");
        OutputPaths.CreateParent(target, "--output");
        using var services = new ServiceCollection().AddLogging().AddSubnetworkPlugins(catalog).BuildServiceProvider();
        var summary = MemberExport.Write(services.GetRequiredService<PluginFactory>(), config, run, description.InputShape, description.Classes, index,
            format, layout, keepMasks, target);
        string what = index < 0 ? "the parent" : $"child {index}" + (summary.Compact ? $" (compact; written {layout.ToString().ToLowerInvariant()})" : "");
        Console.WriteLine($"{what} → {target}: {summary.Tensors} tensors, {summary.Parameters} values, {(keepMasks ? "masks kept as *.weight_mask" : "masks applied (W ⊙ M)")}");
        return ExitCodes.Ok;
    });
}
