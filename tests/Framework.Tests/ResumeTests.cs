using Shouldly;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>One uninterrupted spirals run, the reference every resumed run must equal.</summary>
public sealed class UninterruptedSpirals : IDisposable
{
    private readonly TempDir _dir = new();

    public UninterruptedSpirals()
    {
        Run = Path.Combine(_dir.Path, "reference");
        var result = Sne.Run(["run", Repo.Example("spirals.yaml"), "--out", Run, .. Sizes]);
        result.ExitCode.ShouldBe(0, result.Output);
        Results = Sne.DeterministicResults(Run);
    }

    /// <summary>Spirals with 8 parent epochs and 4 children of 4 tuning epochs; 2250 training rows in batches of 64 make 36 steps an epoch.</summary>
    public static readonly string[] Sizes = ["--set", "parent.epochs=8", "--set", "children.tuning.epochs=4"];

    /// <summary>Training steps in one epoch of the parent or of a child.</summary>
    public const int StepsPerEpoch = 36;

    /// <summary>Training steps of one child's tuning.</summary>
    public const int StepsPerChild = 4 * StepsPerEpoch;

    public string Run { get; }

    public string Results { get; }

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// Runs interrupted at exact places — SIGKILL, SIGTERM or SIGINT sent by the process to itself at a counted training step
/// (SNE_FAULT=kill|sigterm|sigint:POINT#N, see EnvironmentFaultPoints), so no log line has to be caught in time — then resumed by the
/// same command: the result equals an uninterrupted run.
/// </summary>
public class ResumeTests(UninterruptedSpirals reference) : IClassFixture<UninterruptedSpirals>
{
    private const int Killed = 137, Interrupted = 130;

    private static SneResult Resume(string run, params string[] more) =>
        Sne.Run(["run", Repo.Example("spirals.yaml"), "--out", run, .. UninterruptedSpirals.Sizes, .. more]);

    /// <summary>Runs with <paramref name="fault"/> armed; checks the exit code and that the run does not look finished.</summary>
    private static (string Run, SneResult Result) RunWithFault(TempDir dir, string fault, int expectedExit)
    {
        string run = Path.Combine(dir.Path, "run");
        var result = Sne.RunWithEnvironment(new Dictionary<string, string> { ["SNE_FAULT"] = fault },
            ["run", Repo.Example("spirals.yaml"), "--out", run, .. UninterruptedSpirals.Sizes]);
        result.ExitCode.ShouldBe(expectedExit, $"{fault}: {result.Output}");
        File.Exists(Path.Combine(run, "results.json")).ShouldBeFalse("an interrupted run must not look finished");
        return (run, result);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Kill_9_in_the_middle_of_a_childs_tuning_then_resume_equals_an_uninterrupted_run()
    {
        using var dir = new TempDir();
        // Child 3's epoch 2, batch 18.
        var (run, _) = RunWithFault(dir, $"kill:child-step#{2 * UninterruptedSpirals.StepsPerChild + UninterruptedSpirals.StepsPerEpoch + 18}", Killed);
        File.Exists(Path.Combine(run, "children", "child-001.json")).ShouldBeTrue("children 1 and 2 had finished");
        File.Exists(Path.Combine(run, "children", "child-002.json")).ShouldBeFalse("child 3 was killed while tuning");

        var resumed = Resume(run);
        resumed.ExitCode.ShouldBe(0, resumed.Output);
        resumed.Stdout.ShouldContain("Resuming spirals");
        resumed.Stdout.ShouldContain("Parent: done earlier");
        resumed.Stdout.ShouldContain("Child 2/4: done earlier");
        resumed.Stdout.ShouldNotContain("Child 3/4: done earlier");
        resumed.Stdout.ShouldNotContain("parent epoch");
        Sne.DeterministicResults(run).ShouldBe(reference.Results);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Kill_9_during_parent_training_loses_at_most_the_current_epoch_and_resumes_identically()
    {
        using var dir = new TempDir();
        // Epoch 3, batch 10: the resume point of epoch 2 is the last one saved.
        var (run, _) = RunWithFault(dir, $"kill:parent-step#{2 * UninterruptedSpirals.StepsPerEpoch + 10}", Killed);
        File.Exists(Path.Combine(run, "parent.training")).ShouldBeTrue();

        var resumed = Resume(run);
        resumed.ExitCode.ShouldBe(0, resumed.Output);
        resumed.Stdout.ShouldContain("parent: resuming at epoch 3/8, batch 1/36");
        resumed.Stdout.ShouldNotContain("parent epoch 2/8");
        File.Exists(Path.Combine(run, "parent.training")).ShouldBeFalse("the resume point is removed once the parent is done");
        Sne.DeterministicResults(run).ShouldBe(reference.Results);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Sigterm_saves_the_exact_step_and_resuming_equals_an_uninterrupted_run()
    {
        using var dir = new TempDir();
        // After step 50 (epoch 2, batch 14): the next step sees the request to stop and saves batch 15 as the resume point.
        var (run, interrupted) = RunWithFault(dir, $"sigterm:parent-step#{UninterruptedSpirals.StepsPerEpoch + 14}", Interrupted);
        interrupted.Output.ShouldContain("Interrupted; progress is saved. Continue with: sne run");
        File.Exists(Path.Combine(run, "parent.json")).ShouldBeFalse();

        var resumed = Resume(run);
        resumed.ExitCode.ShouldBe(0, resumed.Output);
        resumed.Stdout.ShouldContain("parent: resuming at epoch 2/8, batch 15/36");
        resumed.Stdout.ShouldNotContain("parent epoch 1/8");
        Sne.DeterministicResults(run).ShouldBe(reference.Results);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Sigint_during_a_childs_tuning_stops_cleanly_and_resuming_equals_an_uninterrupted_run()
    {
        using var dir = new TempDir();
        // Child 2's epoch 3, batch 5: child 1 is kept, child 2 is tuned again from its start.
        var (run, interrupted) = RunWithFault(dir, $"sigint:child-step#{UninterruptedSpirals.StepsPerChild + 2 * UninterruptedSpirals.StepsPerEpoch + 5}", Interrupted);
        interrupted.Output.ShouldContain("Interrupted; progress is saved. Continue with: sne run");
        File.Exists(Path.Combine(run, "children", "child-000.json")).ShouldBeTrue();
        File.Exists(Path.Combine(run, "children", "child-001.json")).ShouldBeFalse();

        var resumed = Resume(run);
        resumed.ExitCode.ShouldBe(0, resumed.Output);
        resumed.Stdout.ShouldContain("Child 1/4: done earlier");
        resumed.Stdout.ShouldNotContain("Child 2/4: done earlier");
        Sne.DeterministicResults(run).ShouldBe(reference.Results);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void An_unfinished_run_of_another_configuration_is_not_overwritten_without_force()
    {
        using var dir = new TempDir();
        var (run, _) = RunWithFault(dir, "kill:parent-epoch#2", Killed);
        var other = Resume(run, "--set", "seed=5");
        other.ExitCode.ShouldBe(2, other.Output);
        other.Stderr.ShouldContain("unfinished run of a different configuration");
        File.Exists(Path.Combine(run, "parent.training")).ShouldBeTrue("the unfinished run is kept");

        var forced = Resume(run, "--set", "seed=5", "--set", "children.count=2", "--force");
        forced.ExitCode.ShouldBe(0, forced.Output);
        forced.Stdout.ShouldNotContain("resuming");
        Sne.Results(run)["seed"]!.GetValue<long>().ShouldBe(5);
    }
}
