using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Experiments.Configuration;
using SubnetworkEnsembles.Experiments.Plugins;
using SubnetworkEnsembles.Experiments.Results;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// Stage 3: gathers every child, selects on the validation split (the <c>keep</c> best by select_by), combines and
/// evaluates on the test split; runs the configured analyses; writes predictions/{members,labels}.npy (save_predictions), the report, then results.json.
/// </summary>
internal sealed class EnsembleStage(PluginFactory plugins, ILogger logger, Action<ExperimentConfig, DataSplits, RunDirectory, ExperimentResults> writeReport,
    Func<Diagnostics.IFaultPoints> faults)
{
    /// <summary>Runs the stage and returns what it wrote to results.json.</summary>
    public ExperimentResults Run(ExperimentConfig config, DataSplits data, RunDirectory run)
    {
        var clock = Stopwatch.StartNew();
        var status = RunStatus.Read(run, config.Children.Count);
        if (!status.ParentDone) throw new IncompleteRunException($"{run.Path}: the parent stage has not finished (no parent.json)");
        // Children whose training diverged are left out (unless fail_fast); any other failure or a missing child blocks the gather.
        bool Excludable(int i) => !config.FailFast && RunStatus.ChildDiverged(run, i);
        if (status.Missing.Count > 0 || status.Failed.Keys.Any(i => !Excludable(i)))
            throw new IncompleteRunException($"{run.Path}: cannot gather the ensemble: " + status.Describe());
        bool withParent = config.Children.IncludeParent;
        if (status.Done.Count == 0 && !withParent) throw new IncompleteRunException($"{run.Path}: every child failed, there is no ensemble: " + status.Describe());
        if (status.Failed.Count > 0)
            logger.LogWarning("The ensemble is evaluated without the failed {Which}: {Reasons}", status.Failed.Count == 1 ? "child" : "children", status.Describe());
        var parent = RunFiles.ReadParentResults(run);
        // Members in child order; selection ranks finished children only (failed ones are reported, never used).
        var done = status.Done;
        bool byNll = config.Children.SelectBy == SelectionMetric.Nll;
        string scoreKey = byNll ? "validation_nll" : "validation_accuracy";
        var children = done.ToDictionary(i => i, i => RunFiles.ReadChildResults(run, i, config.Children.Keep > 0 ? scoreKey : null));
        double Score(int i) => byNll ? children[i].ValidationNll!.Value : -children[i].ValidationAccuracy!.Value;
        // Ties (accuracy moves in steps of 1/N) go to the lower validation NLL where it was recorded, then the lower index.
        double TieBreak(int i) => byNll ? 0 : children[i].ValidationNll ?? 0;
        var selected = config.Children.Keep > 0
            ? done.OrderBy(Score).ThenBy(TieBreak).ThenBy(i => i).Take(config.Children.Keep).Order().ToList()
            : done.ToList();
        var members = Enumerable.Range(0, config.Children.Count)
            .Select(i => children.TryGetValue(i, out var m) ? m with { Selected = selected.Contains(i) } : new MemberResult { Index = i, Failed = status.Failed[i], Selected = false })
            .ToList();

        // With include_parent the parent is member −1, first.
        var memberIndices = withParent ? selected.Prepend(-1).ToList() : selected;
        var probs = new List<Tensor>();
        try
        {
            foreach (int i in memberIndices)
                probs.Add(RunFiles.ReadProbabilities(i < 0 ? run.Combine("predictions", "parent.npy") : run.ChildPredictions(i), data.Test.Count, data.Classes));
            using var stacked = stack(probs, 0);
            using var labels = data.Test.Labels.cpu();
            var evaluation = MemberEvaluation.Configured(config, plugins).Ensemble(stacked, labels);
            logger.LogInformation("Ensemble of {Count} test: {Metrics} (parent: {Parent})", memberIndices.Count, new MetricValues(evaluation.Values).ToString(),
                string.Join(", ", evaluation.Values.Keys.Where(parent.Metrics.ContainsKey).Select(k => $"{k} {parent.Metrics[k]:F4}")));
            if (config.SavePredictions)
            {
                NpyFile.WriteChecksummed(run.Combine("predictions", "members.npy"), stacked, faults());
                NpyFile.WriteChecksummed(run.Combine("predictions", "labels.npy"), labels, faults());
            }
            var ensemble = new EnsembleResult
            {
                Combiner = config.Combiner.Type, Members = memberIndices.Count, IncludesParent = withParent, MemberIndices = memberIndices,
                Metrics = new MetricValues(evaluation.Values),
                ExcludedFailed = status.Failed.Count > 0 ? status.Failed.Keys.ToList() : null,
                Pairwise = evaluation.Pairwise.Count > 0 ? evaluation.Pairwise : null,
            };
            var trustRegion = File.Exists(run.TrustRegionFile) ? TrustRegionSearch.ReadChoice(run) : null;
            var ensembleMembers = selected.Select(i => (ITrainedModelResult)children[i]).ToList();
            if (withParent) ensembleMembers.Insert(0, parent);
            var cost = RunCosts.Of(plugins, config, data, parent, members.Where(m => m.Failed is null).ToList(), ensembleMembers);
            var corrupted = config.Corruptions is { } corruptions
                ? CorruptedEvaluation.Run(plugins, corruptions, config, data, run, memberIndices, MemberEvaluation.Configured(config, plugins), logger)
                : null;
            var assembled = ResultsAssembler.Assemble(config, data, parent, members, ensemble, trustRegion, cost, corrupted, clock.Elapsed.TotalSeconds);
            var results = assembled with { Plugins = PluginRecord.Of(config, plugins) };
            if (config.Analyses.Count > 0) results = results with { Analyses = AnalysisStage.Run(plugins, config, data, run, memberIndices, logger) };
            // The report first, results.json last: its presence means everything of the run is written.
            writeReport(config, data, run, results);
            results.Write(run.ResultsFile, faults());
            return results;
        }
        finally
        {
            foreach (var p in probs) p.Dispose();
        }
    }
}
