using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SubnetworkEnsembles.Host.Logging;
using SubnetworkEnsembles.Host.Reporting;

namespace SubnetworkEnsembles.Host.Verbs;

/// <summary>
/// <c>sne report RUN_DIR</c>: (re)writes report.md, report.html, the figures, metrics.jsonl and the TensorBoard events of
/// a finished run, combining and scoring its saved predictions with the run's own combiner and metric plugins.
/// </summary>
public sealed class ReportVerb
{
    /// <summary>The verb's command, with its options and action.</summary>
    public Command Command { get; }

    /// <summary>Creates <c>sne report</c> over the shared options of <paramref name="context"/>.</summary>
    public ReportVerb(VerbContext context)
    {
        var o = context.Options;
        Command = new Command("report", "Write report.md, a self-contained report.html, figures (report/*.png), metrics.jsonl and TensorBoard events for a finished run.\n" +
            "Example: sne report runs/fashion-mnist-sparse-20261125-101500")
        { o.RunDirectory, o.Plugins, o.Verbose };
        Command.SetAction(r => Execute(r.GetValue(o.RunDirectory)!, r.GetValue(o.Verbose), r.GetValue(o.Plugins) ?? []));
    }

    /// <summary>
    /// Writes the report of <paramref name="runDirectory"/> with the plugins of the run's own plugin directories and
    /// <paramref name="pluginDirectories"/>; exit 2 when the run has not finished (no results.json).
    /// </summary>
    public static int Execute(string runDirectory, bool verbose, IReadOnlyList<string>? pluginDirectories = null) => CommandErrors.Guard(verbose, () =>
    {
        var (run, _) = ExistingRun.Open(runDirectory);
        if (!File.Exists(run.ResultsFile)) throw new UsageException($"{run.Path} has no results.json: the run has not finished (resume it with sne run)");
        var request = new RunRequest(run.ConfigFile, run.Path, [], pluginDirectories ?? [], false, verbose);
        using var logging = ConsoleLogging.CreateFactory(request);
        var (config, catalog, _, data) = Commands.Prepare(request, logging.CreateLogger("sne"));
        using var _ = data;
        using var services = new ServiceCollection().AddLogging(b => b.AddProvider(new ConsoleLoggerForwarder(logging))).AddSubnetworkPlugins(catalog).BuildServiceProvider();
        var plugins = services.GetRequiredService<PluginFactory>();
        var results = ExperimentResults.Read(run.ResultsFile);
        var figures = RunReport.Write(run, results, config.SavePredictions, RunScoring.Create(config, plugins),
            file => DecisionBoundaryGrid.Draw(file, config, data, run, plugins, catalog), Diagnostics.EnvironmentFaultPoints.ForThisProcess);
        Console.WriteLine($"{run.Combine("report.html")}, {run.Combine("report.md")}: {figures.Count} figures ({string.Join(", ", figures.Select(f => f.File))}); " +
            "metrics.jsonl, tensorboard/");
        return ExitCodes.Ok;
    });
}
