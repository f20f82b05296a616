using Shouldly;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// A third party writes a plugin from the contracts alone, builds it outside the solution, and selects it from YAML:
/// no change to the host, the engine or any built-in plugin.
/// </summary>
public class ExternalPluginTests
{
    private const string Source = """
        using SubnetworkEnsembles.Abstractions;
        using TorchSharp;
        using static TorchSharp.torch;

        namespace ThirdParty;

        public sealed class TopKOptions : IValidatableOptions
        {
            public int K { get; init; } = 2;
            public IEnumerable<string> Validate() { if (K < 1) yield return $"k: must be ≥ 1, got {K}"; }
        }

        /// Top-k accuracy: the label is among the k most probable classes.
        [Plugin("top-k-accuracy", PluginKind.Metric, OptionsType = typeof(TopKOptions), Description = "label among the k most probable classes")]
        public sealed class TopKAccuracy(TopKOptions options) : IMetric
        {
            public IReadOnlyDictionary<string, double> Compute(MetricInput input)
            {
                using var scope = NewDisposeScope();
                var top = input.EnsembleProbabilities.topk(options.K, 1).indexes;
                var hit = top.eq(input.Labels.unsqueeze(1)).any(1).to_type(ScalarType.Float64).mean().ToDouble();
                return new Dictionary<string, double> { [$"top{options.K}_accuracy"] = hit };
            }
        }
        """;

    [Trait("Category", "e2e")]
    [Fact]
    public void A_plugin_built_from_source_outside_the_solution_is_discovered_and_chosen_from_yaml()
    {
        using var dir = new TempDir();
        PluginProject.Build(dir.Path, "TopKMetric", Source);

        string config = dir.File("experiment.yaml", File.ReadAllText(Repo.Example("spirals.yaml")).Replace(
            "metrics:\n", "plugins:\n  directories: [plugins]\nmetrics:\n  - { type: top-k-accuracy, k: 1 }\n"));
        string run = Path.Combine(dir.Path, "run");
        var result = Sne.Run("run", config, "--out", run, "--set", "parent.epochs=5", "--set", "children.tuning.epochs=2");
        result.ExitCode.ShouldBe(0, result.Output);

        var results = Sne.Results(run);
        // Top-1 accuracy is accuracy: the plugin really computed on the ensemble's probabilities.
        results["ensemble"]!["top1_accuracy"]!.GetValue<double>().ShouldBe(results["ensemble"]!["accuracy"]!.GetValue<double>(), 1e-12);
        results["parent"]!["top1_accuracy"]!.GetValue<double>().ShouldBe(results["parent"]!["accuracy"]!.GetValue<double>(), 1e-12);

        // The plugin's options are validated like built-in ones.
        string badK = dir.File("bad-k.yaml", File.ReadAllText(config).Replace("top-k-accuracy, k: 1", "top-k-accuracy, k: 0"));
        var invalid = Sne.Run("validate", badK);
        invalid.ExitCode.ShouldBe(2);
        invalid.Stderr.ShouldContain("metrics[0].k: must be ≥ 1, got 0");
    }
}
