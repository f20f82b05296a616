using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Combiners;
using SubnetworkEnsembles.Experiments.Pipeline;
using SubnetworkEnsembles.Experiments.Plugins;
using SubnetworkEnsembles.Host;
using SubnetworkEnsembles.Host.Reporting;
using SubnetworkEnsembles.Host.Verbs;
using SubnetworkEnsembles.Metrics;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>The report combines and scores members with the run's own plugins: its configured combiner, its metrics and the ece metric's bins.</summary>
public class RunScoringTests
{
    /// <summary>Four rows, 3 classes, with confidences 0.75 and 0.5 exactly on edges of 4 bins (where floor and ⌈·⌉ − 1 differ), 1.0 and 0.625.</summary>
    private static (Tensor Probabilities, Tensor Labels) EdgeCase() =>
        (tensor(new double[] { 0.75, 0.25, 0, 0.5, 0.25, 0.25, 0, 1, 0, 0.625, 0.375, 0 }, [4, 3]).to_type(ScalarType.Float32),
         tensor(new long[] { 0, 0, 0, 1 }, [4]));

    [Trait("Category", "unit")]
    [Fact]
    public void Reliability_bins_are_the_ece_metrics_bins_with_edges_in_the_lower_bin()
    {
        var (probs, labels) = EdgeCase();
        using var _ = probs;
        using var __ = labels;
        using var members = probs.unsqueeze(0);
        var ece = new EceMetric(new EceMetricOptions { Bins = 4 });
        var pluginBins = ece.Bins(new MetricInput(members, probs, labels));
        // 0.5 → bin 1 and 0.75 → bin 2 (floor would put them in bins 2 and 3); 0.625 → bin 2; 1.0 → bin 3.
        pluginBins.Count.ShouldBe([0L, 1L, 2L, 1L]);
        pluginBins.Accuracy[1].ShouldBe(1);
        pluginBins.Accuracy[2].ShouldBe(0.5);
        pluginBins.Accuracy[3].ShouldBe(0);
        pluginBins.Confidence[2].ShouldBe((0.75 + 0.625) / 2, 1e-7);

        var report = RunReport.ReliabilityBins(probs, labels, bins: 4);
        report.Count.ShouldBe(pluginBins.Count);
        var scoring = new RunScoring(new MeanCombiner(new MeanCombinerOptions()), [("accuracy", new AccuracyMetric()), ("ece", ece)]);
        scoring.Bins(probs, labels).Count.ShouldBe(pluginBins.Count);

        // ECE = (1·|1 − 0.5| + 2·|0.5 − 0.6875| + 1·|0 − 1|) / 4, from the bins and from the metric.
        pluginBins.ExpectedCalibrationError.ShouldBe(0.46875, 1e-7);
        ece.Compute(new MetricInput(members, probs, labels))["ece"].ShouldBe(0.46875, 1e-7);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Ensemble_size_curve_uses_the_configured_combiner()
    {
        // One row, label 1: member 0 says class 0 confidently, members 1 and 2 say class 1 mildly.
        // Mean [0.583, 0.417] predicts 0 (wrong); the vote [1/3, 2/3] predicts 1 (right).
        using var members = tensor(new float[] { 0.9f, 0.1f, 0.4f, 0.6f, 0.45f, 0.55f }, [3, 1, 2]);
        using var labels = tensor(new long[] { 1 }, [1]);
        IReadOnlyList<(string, IMetric)> metrics = [("accuracy", new AccuracyMetric()), ("nll", new NllMetric())];
        var vote = CalibrationFigures.BySize(members, labels, new RunScoring(new VoteCombiner(), metrics));
        var mean = CalibrationFigures.BySize(members, labels, new RunScoring(new MeanCombiner(new MeanCombinerOptions()), metrics));
        vote.Select(e => e.Values["accuracy"]).ShouldBe([0.0, 0.0, 1.0]);   // m = 2 ties 1 : 1, which goes to class 0
        vote[2].Values["nll"].ShouldBe(-Math.Log(2.0 / 3), 1e-6);
        mean[2].Values["accuracy"].ShouldBe(0.0);
        mean[2].Values["nll"].ShouldBe(-Math.Log((0.1 + 0.6 + 0.55) / 3), 1e-6);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Report_of_a_vote_run_scores_the_ensemble_as_results_json_does()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        var result = QuickSpirals.Run(run, null, "--set", "combiner=vote", "--set", "children.count=3", "--set", "metrics=[accuracy, nll, {type: ece, bins: 10}]");
        result.ExitCode.ShouldBe(0, result.Output);
        var report = Sne.Run("report", run);
        report.ExitCode.ShouldBe(0, report.Output);

        var ensemble = Sne.Results(run)["ensemble"]!;
        ensemble["combiner"]!.ToString().ShouldBe("vote");
        var (opened, _) = ExistingRun.Open(run);
        var (config, catalog, _) = Commands.Resolve(new RunRequest(opened.ConfigFile, opened.Path, [], [Repo.PluginsDirectory], false, false), NullLogger.Instance);
        using var services = new ServiceCollection().AddLogging().AddSubnetworkPlugins(catalog).BuildServiceProvider();
        var scoring = RunScoring.Create(config, services.GetRequiredService<PluginFactory>());
        using var members = RunFiles.ReadProbabilities(opened.Combine("predictions", "members.npy"), stacked: true);
        using var labels = RunFiles.ReadLabels(opened.Combine("predictions", "labels.npy"), members.shape[1], members.shape[2]);

        var full = CalibrationFigures.BySize(members, labels, scoring)[^1].Values;
        foreach (var key in new[] { "accuracy", "nll", "ece" })
            full[key].ShouldBe(ensemble[key]!.GetValue<double>(), $"{key} of the report's ensemble of all members");
        using var combined = scoring.Combiner.Combine(members);
        var bins = scoring.Bins(combined, labels);
        bins.Count.Length.ShouldBe(10);
        bins.Count.Sum().ShouldBe(labels.shape[0]);
        bins.ExpectedCalibrationError.ShouldBe(ensemble["ece"]!.GetValue<double>(), 1e-9);
        // The mean of the members would not give the vote's NLL (vote shares put 0 on labels no member chose).
        using var mean = members.mean([0]);
        full["nll"].ShouldNotBe(new NllMetric().Compute(new MetricInput(members, mean, labels))["nll"]);
    }
}
