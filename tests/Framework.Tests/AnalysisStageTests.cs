using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Datasets;
using SubnetworkEnsembles.Experiments.Pipeline;
using SubnetworkEnsembles.Experiments.Results;
using SubnetworkEnsembles.Optimizers;
using SubnetworkEnsembles.Samplers;
using TorchSharp;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>Records what the host gives an analysis, and checks the untuned child it regenerates.</summary>
[Plugin("probe", PluginKind.Analysis, Description = "records its context")]
public sealed class ProbeAnalysis : IAnalysis
{
    public static List<string> Seen { get; } = [];

    public AnalysisOutput Run(AnalysisContext context)
    {
        Seen.Clear();
        Seen.AddRange(context.Members.Select(m => $"{m.Name}:{m.ChildIndex}:{m.TestProbabilities.shape[0]}x{m.TestProbabilities.shape[1]}"));
        // Child 0 before tuning = the parent pruned by its mask (prune freezes zeros): every kept weight is the parent's.
        using var untuned = context.BuildUntunedChild!(0);
        var parent = context.Members[0].Network.parameters().ToList();
        var tuned = context.Members[1].Network.parameters().ToList();
        var before = untuned.parameters().ToList();
        bool keptFromParent = true, tuningChanged = false;
        for (int i = 0; i < parent.Count; i++)
        {
            using var kept = before[i].ne(0);
            using var same = before[i].eq(parent[i]).logical_or(kept.logical_not());
            keptFromParent &= same.all().ToBoolean();
            using var differs = before[i].ne(tuned[i]).any();
            tuningChanged |= differs.ToBoolean();
        }
        Seen.Add($"untuned kept weights are the parent's: {keptFromParent}; tuning changed them: {tuningChanged}");
        using var batch = context.ReadTest([0, 2]);
        Seen.Add($"rows {batch.Inputs.shape[0]}x{batch.Inputs.shape[1]}, training rows {context.TrainingRows}");
        return new AnalysisOutput
        {
            Scalars = new Dictionary<string, double> { ["members"] = context.Members.Count },
            Tables = [new AnalysisTable("one", ["a"], ["b"], [[1.5]])],
        };
    }
}

[Trait("Category", "unit")]
public sealed class AnalysisStageTests
{
    [Fact]
    public async Task An_analysis_sees_the_parent_and_the_members_and_can_regenerate_a_child_before_tuning()
    {
        using var dir = new TempDir();
        var config = new ExperimentConfig
        {
            Name = "probe",
            Data = new DataConfig { Dataset = PluginSpec.Named("spirals", new SpiralsDatasetOptions { Points = 600, TestPoints = 100 }), Validation = 200 },
            Model = PluginSpec.Named("mlp", new MlpOptions { Hidden = [16, 16] }),
            Parent = new ParentConfig { Epochs = 2, BatchSize = 64, Optimizer = PluginSpec.Named("adam"), Schedule = PluginSpec.Named("constant", new ConstantScheduleOptions { Lr = 0.01 }) },
            Children = new ChildrenConfig
            {
                Count = 2, Sampler = PluginSpec.Named("partition", new PartitionSamplerOptions { K = 2 }), Perturbation = PluginSpec.Named("prune"),
                Tuning = new TrainingConfig { Epochs = 1, BatchSize = 64, Optimizer = PluginSpec.Named("adam"), Schedule = PluginSpec.Named("constant", new ConstantScheduleOptions { Lr = 0.01 }) },
            },
            Analyses = [PluginSpec.Named("probe")],
            Threads = 1,
        };
        var results = await Experiment.FromConfig(config).WithPlugins(TestData.Catalog().Register<ProbeAnalysis>()).RunAsync(Path.Combine(dir.Path, "run"));
        ProbeAnalysis.Seen.ShouldBe(["parent:-1:100x2", "child 0:0:100x2", "child 1:1:100x2",
            "untuned kept weights are the parent's: True; tuning changed them: True", "rows 2x2, training rows 400"]);
        var analysis = results.Analyses.ShouldHaveSingleItem();
        analysis.Name.ShouldBe("probe");
        analysis.Scalars["members"].ShouldBe(3);
        analysis.Tables.ShouldHaveSingleItem().Values.ShouldBe([[1.5]]);
        ExperimentResults.Read(Path.Combine(dir.Path, "run", "results.json")).Analyses!.ShouldHaveSingleItem().Tables[0].Rows.ShouldBe(["a"]);
    }

    [Fact]
    public void Merging_replaces_an_analysis_run_again_and_appends_a_new_one()
    {
        AnalysisResult A(string name, double seconds) => new() { Name = name, Seconds = seconds };
        var merged = AnalysisStage.Merge([A("smoothgrad", 1), A("perceptual-hash", 2)], [A("perceptual-hash", 3), A("tsne", 4)]);
        merged.Select(a => (a.Name, a.Seconds)).ShouldBe([("smoothgrad", 1.0), ("perceptual-hash", 3.0), ("tsne", 4.0)]);
        AnalysisStage.Merge(null, [A("x", 1)]).ShouldHaveSingleItem().Name.ShouldBe("x");
    }
    [Fact]
    public void Analyses_survive_a_round_trip_through_results_json_with_undefined_values_as_null()
    {
        using var dir = new TempDir();
        string file = Path.Combine(dir.Path, "results.json");
        var analysis = new AnalysisResult
        {
            Name = "smoothgrad", Scalars = new Dictionary<string, double> { ["rmse_between_children"] = double.NaN, ["rmse_to_parent"] = 0.25 },
            Tables = [new AnalysisTableResult { Name = "rmse", Rows = ["parent", "child 0"], Columns = ["parent", "child 0"], Values = [[0, 0.25], [0.25, double.NaN]] }],
            Figures = [new AnalysisFigureResult { File = "analyses/smoothgrad/maps.png", Caption = "grid" }],
        };
        new ExperimentResults { Name = "x", Analyses = [analysis] }.Write(file);
        File.ReadAllText(file).ShouldContain("\"rmse_between_children\": null");
        var read = ExperimentResults.Read(file).Analyses.ShouldHaveSingleItem();
        double.IsNaN(read.Scalars["rmse_between_children"]).ShouldBeTrue();
        read.Tables[0].Values[0].ShouldBe([0, 0.25]);
        double.IsNaN(read.Tables[0].Values[1][1]).ShouldBeTrue();
        read.Figures.ShouldHaveSingleItem().File.ShouldBe("analyses/smoothgrad/maps.png");
        new ExperimentResults { Name = "old" }.ToJson().ShouldNotContain("analyses");
    }
}
