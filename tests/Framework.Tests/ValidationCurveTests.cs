using System.Text;
using System.Text.Json.Nodes;
using Shouldly;
using SubnetworkEnsembles.Engine.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>Two quick spirals runs (<see cref="QuickSpirals"/>): validation every epoch (the default) and never.</summary>
public sealed class ValidatedSpirals : IDisposable
{
    private readonly TempDir _dir = new();

    public ValidatedSpirals()
    {
        Validated = Path.Combine(_dir.Path, "validated");
        Unvalidated = Path.Combine(_dir.Path, "unvalidated");
        var result = QuickSpirals.Run(Validated);
        result.ExitCode.ShouldBe(0, result.Output);
        result = QuickSpirals.Run(Unvalidated, null, "--set", "parent.validation_interval=0", "--set", "children.tuning.validation_interval=0");
        result.ExitCode.ShouldBe(0, result.Output);
    }

    public string Validated { get; }

    public string Unvalidated { get; }

    public void Dispose() => _dir.Dispose();
}

/// <summary>Validation curves of a real run: present everywhere, equal to a recomputation, and without effect on training.</summary>
[Trait("Category", "e2e")]
public sealed class ValidationCurveTests(ValidatedSpirals runs) : IClassFixture<ValidatedSpirals>
{
    private static double D(JsonNode? node) => node!.GetValue<double>();

    /// <summary>NLL (float64, p ≥ 1e-12) of the spirals MLP saved in <paramref name="checkpoint"/> on the run's validation split, computed here.</summary>
    internal static double ValidationNll(string run, string checkpoint)
    {
        using var data = TestData.Load(TestData.RunConfig(run).Data);
        using var model = TestModels.SpiralsMlp(checkpoint);
        using var p = Evaluator.Probabilities(model, data.Validation);
        using var picked = p.to_type(ScalarType.Float64).gather(1, data.Validation.Labels.unsqueeze(1)).clamp_min(1e-12);
        return -picked.log().mean().ToDouble();
    }

    [Fact]
    public void Every_epoch_of_parent_and_children_has_validation_values_and_the_last_equals_the_checkpoints_validation_nll()
    {
        var results = Sne.Results(runs.Validated);
        var parent = results["parent"]!["history"]!.AsArray();
        parent.Count.ShouldBe(5);
        foreach (var e in parent)
        {
            D(e!["val_accuracy"]).ShouldBeInRange(0.0, 1.0);
            D(e["val_metrics"]!["nll"]).ShouldBe(D(e["val_loss"]));
            e["val_metrics"]!["ece"].ShouldNotBeNull();
        }
        D(parent[^1]!["val_loss"]).ShouldBe(ValidationNll(runs.Validated, Path.Combine(runs.Validated, "parent.ckpt")), 1e-12);
        D(parent[0]!["val_loss"]).ShouldNotBe(D(parent[^1]!["val_loss"]));

        var child = results["members"]![1]!["history"]!.AsArray();
        child.Count.ShouldBe(2);
        D(child[^1]!["val_loss"]).ShouldBe(ValidationNll(runs.Validated, Path.Combine(runs.Validated, "children", "child-001.ckpt")), 1e-12);

        var lines = File.ReadAllLines(Path.Combine(runs.Validated, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        D(lines[0]["val_loss"]).ShouldBe(D(parent[0]!["val_loss"]));
        D(lines[0]["val_ece"]).ShouldBe(D(parent[0]!["val_metrics"]!["ece"]));
        string events = Encoding.Latin1.GetString(File.ReadAllBytes(Directory.GetFiles(Path.Combine(runs.Validated, "tensorboard"), "events.out.tfevents.*").Single()));
        events.ShouldContain("parent/validation_loss");
        events.ShouldContain("child-001/validation_accuracy");
        File.ReadAllText(Path.Combine(runs.Validated, "report.md")).ShouldContain("validation NLL (dashed)");
    }

    [Fact]
    public void A_run_without_validation_trains_identically_and_has_no_validation_values()
    {
        var validated = Sne.Results(runs.Validated);
        var unvalidated = Sne.Results(runs.Unvalidated);
        unvalidated["parent"]!["history"]!.AsArray().ShouldAllBe(e => e!["val_loss"] == null && e["val_metrics"] == null);
        File.ReadAllText(Path.Combine(runs.Unvalidated, "metrics.jsonl")).ShouldNotContain("val_");

        // Final weights and test predictions byte for byte, and every training number.
        foreach (var file in new[] { "parent.ckpt", "children/child-000.ckpt", "children/child-001.ckpt", "predictions/parent.npy", "predictions/members.npy" })
            File.ReadAllBytes(Path.Combine(runs.Validated, file)).SequenceEqual(File.ReadAllBytes(Path.Combine(runs.Unvalidated, file))).ShouldBeTrue(file);
        string Training(JsonObject r) => string.Join(";", new[] { r["parent"]!["history"]! }.Concat(r["members"]!.AsArray().Select(m => m!["history"]!))
            .SelectMany(h => h.AsArray()).Select(e => $"{e!["epoch"]},{D(e["loss"]):R},{D(e["accuracy"]):R},{D(e["lr"]):R}"));
        Training(validated).ShouldBe(Training(unvalidated));
        D(validated["ensemble"]!["nll"]).ShouldBe(D(unvalidated["ensemble"]!["nll"]));
        D(validated["parent"]!["nll"]).ShouldBe(D(unvalidated["parent"]!["nll"]));
    }
}
