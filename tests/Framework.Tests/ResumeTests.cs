using System.Diagnostics;
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

    /// <summary>Spirals made slow enough (≈0.4 s an epoch) that a kill lands where the test means it to.</summary>
    public static readonly string[] Sizes =
        ["--set", "data.points=20000", "--set", "model.hidden=[256,256,256]", "--set", "parent.epochs=8", "--set", "children.tuning.epochs=4"];

    public string Run { get; }

    public string Results { get; }

    public void Dispose() => _dir.Dispose();
}

/// <summary>A real sne process whose log lines can be awaited and which can be killed at a chosen point.</summary>
public sealed class SneProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stderr;

    public SneProcess(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Repo.Root };
        start.ArgumentList.Add(Repo.SneDll);
        foreach (var a in args) start.ArgumentList.Add(a);
        _process = Process.Start(start)!;
        _stderr = _process.StandardError.ReadToEndAsync();
    }

    /// <summary>Reads stdout until a line contains <paramref name="text"/>; fails when the process ends first.</summary>
    public string WaitForLine(string text)
    {
        string? line;
        while ((line = _process.StandardOutput.ReadLine()) is not null && !line.Contains(text, StringComparison.Ordinal)) { }
        if (line is null) throw new Xunit.Sdk.XunitException($"the run ended before logging '{text}': {_stderr.Result}");
        return line;
    }

    /// <summary>Sends <paramref name="signal"/> (9 = SIGKILL, 15 = SIGTERM, 2 = SIGINT) at once and waits for the exit code.</summary>
    public int Signal(int signal)
    {
        using (var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString()])!) kill.WaitForExit();
        _process.StandardOutput.ReadToEnd();
        _process.WaitForExit(60_000).ShouldBeTrue("the process did not stop within a minute");
        return _process.ExitCode;
    }

    public string Stderr => _stderr.Result;

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}

public class ResumeTests(UninterruptedSpirals reference) : IClassFixture<UninterruptedSpirals>
{
    private const int Sigkill = 9, Sigterm = 15;

    private static SneResult Resume(string run, params string[] more) =>
        Sne.Run(["run", Repo.Example("spirals.yaml"), "--out", run, .. UninterruptedSpirals.Sizes, .. more]);

    private static string StartAndKill(TempDir dir, string waitFor, int signal, int expectedExit)
    {
        string run = Path.Combine(dir.Path, "run");
        using (var sne = new SneProcess(["run", Repo.Example("spirals.yaml"), "--out", run, .. UninterruptedSpirals.Sizes]))
        {
            sne.WaitForLine(waitFor);
            int exit = sne.Signal(signal);
            exit.ShouldBe(expectedExit, sne.Stderr);
        }
        File.Exists(Path.Combine(run, "results.json")).ShouldBeFalse("an interrupted run must not look finished");
        return run;
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Kill_9_in_the_middle_of_a_childs_tuning_then_resume_equals_an_uninterrupted_run()
    {
        using var dir = new TempDir();
        string run = StartAndKill(dir, "child 3/4 epoch 2/4", Sigkill, 137);
        File.Exists(Path.Combine(run, "children", "child-001.json")).ShouldBeTrue("children 1 and 2 had finished");
        File.Exists(Path.Combine(run, "children", "child-003.json")).ShouldBeFalse();

        var resumed = Resume(run);
        resumed.ExitCode.ShouldBe(0, resumed.Output);
        resumed.Stdout.ShouldContain("Resuming spirals");
        resumed.Stdout.ShouldContain("Parent: done earlier");
        resumed.Stdout.ShouldContain("Child 2/4: done earlier");
        resumed.Stdout.ShouldNotContain("parent epoch");
        Sne.DeterministicResults(run).ShouldBe(reference.Results);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Kill_9_during_parent_training_loses_at_most_the_current_epoch_and_resumes_identically()
    {
        using var dir = new TempDir();
        string run = StartAndKill(dir, "parent epoch 3/8", Sigkill, 137);
        File.Exists(Path.Combine(run, "parent.training")).ShouldBeTrue();

        var resumed = Resume(run);
        resumed.ExitCode.ShouldBe(0, resumed.Output);
        // Epoch 3 was checkpointed before it was logged, so training continues at epoch 4 (or 5 if 4 finished before the kill).
        resumed.Stdout.ShouldMatch(@"parent: resuming at epoch (4|5)/8, batch 1/");
        resumed.Stdout.ShouldNotContain("parent epoch 3/8");
        File.Exists(Path.Combine(run, "parent.training")).ShouldBeFalse("the resume point is removed once the parent is done");
        Sne.DeterministicResults(run).ShouldBe(reference.Results);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Sigterm_saves_the_exact_step_and_resuming_equals_an_uninterrupted_run()
    {
        using var dir = new TempDir();
        string run = StartAndKill(dir, "parent epoch 2/8", Sigterm, 130);

        var resumed = Resume(run);
        resumed.ExitCode.ShouldBe(0, resumed.Output);
        resumed.Stdout.ShouldContain("parent: resuming at epoch");
        Sne.DeterministicResults(run).ShouldBe(reference.Results);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void An_unfinished_run_of_another_configuration_is_not_overwritten_without_force()
    {
        using var dir = new TempDir();
        string run = StartAndKill(dir, "parent epoch 2/8", Sigkill, 137);
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
