using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SubnetworkEnsembles.Experiments.Pipeline;
using SubnetworkEnsembles.Experiments.Plugins;

namespace SubnetworkEnsembles.Host;

/// <summary><c>sne report</c>.</summary>
public static partial class Commands
{
    /// <summary><c>sne report RUN_DIR</c>: (re)writes report.md, report.html, the figures, metrics.jsonl and the TensorBoard events of a finished run.</summary>
    public static int Report(string runDirectory, bool verbose) => Guard(verbose, () =>
    {
        var (run, _) = OpenRun(runDirectory);
        if (!File.Exists(run.ResultsFile)) throw new UsageException($"{run.Path} has no results.json: the run has not finished (resume it with sne run)");
        var request = new RunRequest(run.ConfigFile, run.Path, [], [], false, verbose);
        using var logging = ConsoleLoggerFactory(request);
        var (config, catalog, device, data) = Prepare(request, logging.CreateLogger("sne"));
        using var _ = data;
        using var services = new ServiceCollection().AddLogging(b => b.AddProvider(new ConsoleLoggerForwarder(logging))).AddSubnetworkPlugins(catalog).BuildServiceProvider();
        var results = RunFiles.ReadResults(run.ResultsFile);
        var figures = Reporting.RunReport.Write(run, results, config.SavePredictions, file => Reporting.DecisionBoundaryGrid.Draw(file, config, data, run, services.GetRequiredService<PluginFactory>(), catalog),
            Diagnostics.EnvironmentFaultPoints.ForThisProcess);
        Console.WriteLine($"{run.Combine("report.html")}, {run.Combine("report.md")}: {figures.Count} figures ({string.Join(", ", figures.Select(f => f.File))}); " +
            "metrics.jsonl, tensorboard/");
        return ExitCodes.Ok;
    });
}
