using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SubnetworkEnsembles.Host.Logging;
using SubnetworkEnsembles.Host.Reporting;

namespace SubnetworkEnsembles.Host.Verbs;

/// <summary>
/// <c>sne analyze RUN_DIR [--set analyses=[…]]</c>: runs analysis plugins on a finished run without retraining (the
/// parent and the ensemble's members from their checkpoints), then puts their results into results.json ("analyses": an
/// analysis run again replaces its earlier entry) and rewrites the report. results.json and the report are replaced
/// atomically and only when every analysis succeeded; an analysis that throws is one line naming it, exit 3.
/// </summary>
public sealed class AnalyzeVerb
{
    /// <summary>The verb's command, with its options and action.</summary>
    public Command Command { get; }

    /// <summary>Creates <c>sne analyze</c> over the shared options of <paramref name="context"/>.</summary>
    public AnalyzeVerb(VerbContext context)
    {
        var o = context.Options;
        Command = new Command("analyze", "Run analyses (saliency maps, perceptual hashes, …) on a finished run without retraining; adds them to results.json and the report.\n" +
            "Example: sne analyze runs/fashion --set 'analyses=[smoothgrad, {type: perceptual-hash, source: inputs}]'")
        { o.RunDirectory, o.Set, o.Plugins, o.Verbose };
        Command.SetAction(r => Execute(r.GetValue(o.RunDirectory)!, r.GetValue(o.Set) ?? [], r.GetValue(o.Verbose), r.GetValue(o.Plugins) ?? []));
    }

    /// <summary>
    /// Runs the analyses of the run's config.yaml, or those of <paramref name="overrides"/> (only <c>analyses…</c> keys
    /// may be set: anything else would change what the run was); exit 2 for a run without results.json, an unknown
    /// analysis or bad options, 3 when an analysis fails.
    /// </summary>
    public static int Execute(string runDirectory, IReadOnlyList<string> overrides, bool verbose, IReadOnlyList<string>? pluginDirectories = null) => CommandErrors.Guard(verbose, () =>
    {
        var (run, _) = ExistingRun.Open(runDirectory);
        if (!File.Exists(run.ResultsFile)) throw new UsageException($"{run.Path} has no results.json: the run has not finished (resume it with sne run)");
        foreach (var set in overrides.Where(s => !s.StartsWith("analyses=", StringComparison.Ordinal) && !s.StartsWith("analyses[", StringComparison.Ordinal)))
            throw new UsageException($"--set {set}: sne analyze may set only analyses (e.g. --set 'analyses=[smoothgrad]'); the rest of the run stays as it was trained");
        var request = new RunRequest(run.ConfigFile, run.Path, overrides, pluginDirectories ?? [], false, verbose);
        using var logging = ConsoleLogging.CreateFactory(request);
        var log = logging.CreateLogger("sne");
        var (config, catalog, device, data) = Commands.Prepare(request, log);
        using var _ = data;
        if (config.Analyses.Count == 0)
            throw new UsageException($"{run.Path}: no analyses to run; name them with --set 'analyses=[{string.Join(", ", catalog.NamesOf(Abstractions.PluginKind.Analysis))}]'");
        using var services = new ServiceCollection().AddLogging(b => b.AddProvider(new ConsoleLoggerForwarder(logging))).AddSubnetworkPlugins(catalog).BuildServiceProvider();
        var plugins = services.GetRequiredService<PluginFactory>();
        plugins.ConstructAll(config);
        var results = ExperimentResults.Read(run.ResultsFile);
        data.MoveTo(device);
        var fresh = AnalysisStage.Run(plugins, config, data, run, results.Ensemble.MemberIndices, log);
        // results.json's plugin list gains the analyses run now (their assembly and SHA-256), replacing earlier records of them.
        var analysisRecords = PluginRecord.Of(config, plugins).Where(r => r.Kind == "analysis").ToList();
        var updated = results with
        {
            Analyses = AnalysisStage.Merge(results.Analyses, fresh),
            Plugins = [.. (results.Plugins ?? []).Where(p => !analysisRecords.Any(r => r.Kind == p.Kind && r.Name == p.Name)), .. analysisRecords],
        };
        var faults = Diagnostics.EnvironmentFaultPoints.ForThisProcess;
        RunReport.Write(run, updated, config.SavePredictions, RunScoring.Create(config, plugins),
            file => DecisionBoundaryGrid.Draw(file, config, data, run, plugins, catalog), faults);
        updated.Write(run.ResultsFile, faults);
        Console.WriteLine($"{run.ResultsFile}: analyses {string.Join(", ", fresh.Select(a => $"{a.Name} ({a.Tables.Count} tables, {a.Figures.Count} figures)"))}; " +
            $"report: {run.Combine("report.html")}");
        return ExitCodes.Ok;
    });
}
