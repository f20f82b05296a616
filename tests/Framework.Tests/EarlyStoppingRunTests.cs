using System.Text.Json.Nodes;
using Shouldly;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// A quick spirals run whose parent (up to 20 epochs, constant learning rate) stops early on validation NLL with patience 2
/// and restores its best epoch, and whose children (2 tuning epochs) restore their best epoch too.
/// </summary>
public sealed class EarlyStoppedSpirals : IDisposable
{
    private readonly TempDir _dir = new();

    public static readonly string[] Options =
    [
        "--set", "parent.epochs=20", "--set", "parent.early_stopping.patience=2",
        "--set", "children.tuning.early_stopping.metric=accuracy", "--set", "children.tuning.early_stopping.patience=1",
    ];

    public EarlyStoppedSpirals()
    {
        Run = Path.Combine(_dir.Path, "reference");
        var result = QuickSpirals.Run(Run, null, Options);
        result.ExitCode.ShouldBe(0, result.Output);
        Output = result.Stdout;
    }

    public string Run { get; }

    public string Output { get; }

    public void Dispose() => _dir.Dispose();
}

/// <summary>Early stopping through <c>sne run</c>: where it stops, what it restores, what results.json records, and resume.</summary>
[Trait("Category", "e2e")]
public sealed class EarlyStoppingRunTests(EarlyStoppedSpirals reference) : IClassFixture<EarlyStoppedSpirals>
{
    private const int StepsPerEpoch = 36, Patience = 2;

    private static double D(JsonNode? node) => node!.GetValue<double>();

    /// <summary>The epoch with the lowest validation NLL among the first <paramref name="epochs"/> (the first of equals).</summary>
    private static int BestEpoch(JsonArray history, int epochs) =>
        Enumerable.Range(1, epochs).Aggregate((best, e) => D(history[e - 1]!["val_loss"]) < D(history[best - 1]!["val_loss"]) ? e : best);

    [Fact]
    public void The_parent_stops_after_patience_epochs_without_improvement_and_its_checkpoint_holds_the_best_epochs_weights()
    {
        var results = Sne.Results(reference.Run);
        var history = results["parent"]!["history"]!.AsArray();
        var stopping = results["parent"]!["early_stopping"]!;
        int stopped = history.Count;
        stopped.ShouldBeLessThan(20, "the constant learning rate makes the validation NLL stall within 20 epochs");
        stopping["stopped_epoch"]!.GetValue<int>().ShouldBe(stopped);
        int best = BestEpoch(history, stopped);
        best.ShouldBe(stopped - Patience);   // no improvement in the last `patience` evaluations, and improving before would have reset the count
        stopping["best_epoch"]!.GetValue<int>().ShouldBe(best);
        stopping["restored_epoch"]!.GetValue<int>().ShouldBe(best);
        stopping["metric"]!.GetValue<string>().ShouldBe("nll");
        D(stopping["best"]).ShouldBe(D(history[best - 1]!["val_loss"]));
        reference.Output.ShouldContain($"parent: early stopping after epoch {stopped}/20");

        // parent.ckpt (and so the parent's test metrics and every child) has the best epoch's weights, not the last epoch's.
        double nll = ValidationCurveTests.ValidationNll(reference.Run, Path.Combine(reference.Run, "parent.ckpt"));
        nll.ShouldBe(D(history[best - 1]!["val_loss"]), 1e-12);
        nll.ShouldNotBe(D(history[^1]!["val_loss"]));
        File.ReadAllText(Path.Combine(reference.Run, "parent.json")).ShouldContain("\"restored_epoch\"");
    }

    [Fact]
    public void Each_child_records_its_own_early_stopping_and_ends_with_its_best_epoch_on_validation_accuracy()
    {
        foreach (var member in Sne.Results(reference.Run)["members"]!.AsArray())
        {
            var history = member!["history"]!.AsArray();
            history.Count.ShouldBe(2, "the last epoch never stops early");
            var stopping = member["early_stopping"]!;
            stopping["metric"]!.GetValue<string>().ShouldBe("accuracy");
            stopping["stopped_epoch"].ShouldBeNull();
            int best = D(history[1]!["val_accuracy"]) > D(history[0]!["val_accuracy"]) ? 2 : 1;
            stopping["restored_epoch"]!.GetValue<int>().ShouldBe(best);
            int index = member["index"]!.GetValue<int>();
            ValidationCurveTests.ValidationNll(reference.Run, Path.Combine(reference.Run, "children", $"child-{index:D3}.ckpt"))
                .ShouldBe(D(history[best - 1]!["val_loss"]), 1e-12);
        }
    }

    [Fact]
    public void Killed_in_the_stopping_epoch_after_an_epoch_without_improvement_the_resumed_run_equals_the_uninterrupted_one()
    {
        int stopped = Sne.Results(reference.Run)["parent"]!["history"]!.AsArray().Count;
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        // Epoch `stopped`, batch 10: the saved point is epoch stopped − 1's, one evaluation past the best, its weights not the best.
        var killed = QuickSpirals.Run(run, $"kill:parent-step#{(stopped - 1) * StepsPerEpoch + 10}", EarlyStoppedSpirals.Options);
        killed.ExitCode.ShouldBe(137, killed.Output);
        File.Exists(Path.Combine(run, "parent.training")).ShouldBeTrue();

        var resumed = QuickSpirals.Run(run, null, EarlyStoppedSpirals.Options);
        resumed.ExitCode.ShouldBe(0, resumed.Output);
        resumed.Stdout.ShouldContain($"parent: resuming at epoch {stopped}/20, batch 1/36");
        resumed.Stdout.ShouldContain($"parent: early stopping after epoch {stopped}/20");
        RunOutputs.ShouldMatch(run, reference.Run);
    }
}
