using Shouldly;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>One uninterrupted <see cref="QuickSpirals"/> run: what every interrupted-and-resumed run of it must equal.</summary>
public sealed class QuickSpiralsReference : IDisposable
{
    private readonly TempDir _dir = new();

    public QuickSpiralsReference()
    {
        Run = Path.Combine(_dir.Path, "reference");
        var result = QuickSpirals.Run(Run);
        result.ExitCode.ShouldBe(0, result.Output);
    }

    /// <summary>The finished run directory.</summary>
    public string Run { get; }

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// Resume promises beyond a plain <c>sne run</c> (README "Resume", "Bring your own parent, grow, predict", "Scale out"):
/// the process is stopped at an exact point — SIGKILL (<c>SNE_FAULT=kill:POINT#N</c>), or a graceful SIGINT / SIGTERM
/// that the process sends itself there (<c>sigint:</c> / <c>sigterm:</c>) — the same command is run again, and
/// results.json, metrics.jsonl (wall times aside) and predictions/*.npy (byte for byte) must equal an uninterrupted run's.
/// Spirals: 36 parent steps an epoch, 72 tuning steps a child.
/// </summary>
public class ResumePromiseTests(QuickSpiralsReference reference) : IClassFixture<QuickSpiralsReference>
{
    private static SneResult Grow(string run, int children, string? fault = null) =>
        Sne.RunWithEnvironment(fault is null ? new Dictionary<string, string>() : new() { ["SNE_FAULT"] = fault }, "grow", run, "--children", children.ToString(System.Globalization.CultureInfo.InvariantCulture));

    [Trait("Category", "e2e")]
    [Fact]
    public void Grow_killed_inside_a_new_child_then_run_again_equals_an_uninterrupted_grow()
    {
        using var dir = new TempDir();
        string grown = RunOutputs.Copy(reference.Run, Path.Combine(dir.Path, "grown"));
        string killed = RunOutputs.Copy(reference.Run, Path.Combine(dir.Path, "killed"));
        var uninterrupted = Grow(grown, 2);
        uninterrupted.ExitCode.ShouldBe(0, uninterrupted.Output);

        var kill = Grow(killed, 2, "kill:child-step#40");                  // inside child 3's tuning (the first new child)
        kill.ExitCode.ShouldBe(137, kill.Output);
        File.Exists(Path.Combine(killed, "results.json")).ShouldBeFalse("an interrupted grow must not look finished");
        File.ReadAllText(Path.Combine(killed, "grow.pending")).Trim().ShouldBe("2 4");

        // Asking for a different grow while one is unfinished is refused (it would otherwise add children twice).
        var other = Grow(killed, 3);
        other.ExitCode.ShouldBe(2, other.Output);
        other.Stderr.ShouldContain("an interrupted 'sne grow --children 2' (from 2 to 4 children) has not finished");

        var again = Grow(killed, 2);
        again.ExitCode.ShouldBe(0, again.Output);
        again.Stdout.ShouldContain("Resuming the interrupted grow of");
        again.Stdout.ShouldContain("Child 2/4: done earlier");
        again.Stdout.ShouldNotContain("Child 3/4: done earlier");
        Sne.Results(killed)["members"]!.AsArray().Count.ShouldBe(4);
        RunOutputs.ShouldMatch(killed, grown);
        File.ReadAllText(Path.Combine(killed, "results.previous.json")).ShouldBe(File.ReadAllText(Path.Combine(reference.Run, "results.json")));
        File.Exists(Path.Combine(killed, "grow.pending")).ShouldBeFalse("the marker goes once the grow has finished");
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void A_staged_child_killed_inside_its_tuning_then_run_again_equals_a_single_process_run()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "staged");
        string config = Path.Combine(run, "config.yaml");
        SneResult Stage(string? fault, params string[] stage) =>
            Sne.RunWithEnvironment(fault is null ? new Dictionary<string, string>() : new() { ["SNE_FAULT"] = fault }, ["run", config, "--out", run, "--stage", .. stage]);

        var parent = QuickSpirals.Run(run, null, "--stage", "parent");
        parent.ExitCode.ShouldBe(0, parent.Output);
        Stage(null, "child", "--index", "0").ExitCode.ShouldBe(0);
        var killed = Stage("kill:child-step#40", "child", "--index", "1");   // epoch 2 of child 1's tuning
        killed.ExitCode.ShouldBe(137, killed.Output);
        File.Exists(Path.Combine(run, "children", "child-001.json")).ShouldBeFalse();
        Sne.Run("status", run).Stdout.ShouldContain("child 1   pending");

        var again = Stage(null, "child", "--index", "1");
        again.ExitCode.ShouldBe(0, again.Output);
        var gather = Stage(null, "ensemble");
        gather.ExitCode.ShouldBe(0, gather.Output);
        RunOutputs.ShouldMatch(run, reference.Run);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void A_sweep_killed_inside_its_second_point_then_run_again_equals_an_uninterrupted_sweep()
    {
        using var dir = new TempDir();
        string config = dir.File("sweep.yaml", $$"""
            extends: {{Repo.Example("spirals.yaml")}}
            threads: 1
            parent: { epochs: 5 }
            children: { count: 2, tuning: { epochs: 2 } }
            sweep:
              seed: [0, 1]
            """);
        string expected = Path.Combine(dir.Path, "uninterrupted"), sweep = Path.Combine(dir.Path, "sweep");
        var uninterrupted = Sne.Run("run", config, "--out", expected);
        uninterrupted.ExitCode.ShouldBe(0, uninterrupted.Output);

        // Point 0's parent takes steps 1–180; step 260 is in epoch 3 of point 1's parent (its epoch-2 resume point is saved).
        var killed = Sne.RunWithEnvironment(new Dictionary<string, string> { ["SNE_FAULT"] = "kill:parent-step#260" }, "run", config, "--out", sweep);
        killed.ExitCode.ShouldBe(137, killed.Output);
        File.Exists(Path.Combine(sweep, "000-seed=0", "results.json")).ShouldBeTrue("point 0 had finished");
        File.Exists(Path.Combine(sweep, "001-seed=1", "results.json")).ShouldBeFalse();
        File.Exists(Path.Combine(sweep, "sweep.csv")).ShouldBeFalse();

        var again = Sne.Run("run", config, "--out", sweep);
        again.ExitCode.ShouldBe(0, again.Output);
        again.Stdout.ShouldContain("Sweep point 0: done earlier");
        again.Stdout.ShouldContain("parent: resuming at epoch 3/5, batch 1/36");
        foreach (var point in new[] { "000-seed=0", "001-seed=1" })
            RunOutputs.ShouldMatch(Path.Combine(sweep, point), Path.Combine(expected, point));
        SweepTableWithoutTimes(sweep).ShouldBe(SweepTableWithoutTimes(expected));
    }

    /// <summary>sweep.csv without its wall-time column.</summary>
    private static string SweepTableWithoutTimes(string sweep)
    {
        var lines = File.ReadAllLines(Path.Combine(sweep, "sweep.csv"));
        int seconds = Array.IndexOf(lines[0].Split(','), "seconds");
        seconds.ShouldBeGreaterThan(0);
        lines.Length.ShouldBe(3, "a header and one row per point");
        return string.Join('\n', lines.Select(l => string.Join(',', l.Split(',').Where((_, i) => i != seconds))));
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Sigint_in_the_parent_and_sigterm_in_a_child_each_exit_130_and_resuming_equals_an_uninterrupted_run()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        void ShouldBeInterrupted(SneResult interrupted)
        {
            interrupted.ExitCode.ShouldBe(130, interrupted.Output);
            interrupted.Stdout.ShouldContain("Interrupted; progress is saved. Continue with: sne run");
            interrupted.Stderr.ShouldNotContain("   at ");
            File.Exists(Path.Combine(run, "results.json")).ShouldBeFalse("an interrupted run must not look finished");
        }

        // Ctrl+C after parent step 50 (epoch 2, batch 14): the exact step is saved, training goes on at batch 15.
        ShouldBeInterrupted(QuickSpirals.Run(run, "sigint:parent-step#50"));
        File.Exists(Path.Combine(run, "parent.training")).ShouldBeTrue("the parent's exact step is saved");

        // SIGTERM inside child 2's tuning (this process's child steps 73–144 are child 2's): child 1 is kept, child 2 is made again.
        var second = QuickSpirals.Run(run, "sigterm:child-step#100");
        second.Stdout.ShouldContain("parent: resuming at epoch 2/5, batch 15/36");
        ShouldBeInterrupted(second);
        File.Exists(Path.Combine(run, "children", "child-000.json")).ShouldBeTrue();
        File.Exists(Path.Combine(run, "children", "child-001.json")).ShouldBeFalse();

        var resumed = QuickSpirals.Run(run);
        resumed.ExitCode.ShouldBe(0, resumed.Output);
        resumed.Stdout.ShouldContain("Parent: done earlier");
        resumed.Stdout.ShouldContain("Child 1/2: done earlier");
        resumed.Stdout.ShouldNotContain("Child 2/2: done earlier");
        RunOutputs.ShouldMatch(run, reference.Run);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void A_damaged_parent_checkpoint_is_named_refused_by_a_child_stage_and_redone_by_a_resumed_run()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        string checkpoint = Path.Combine(run, "parent.ckpt");
        QuickSpirals.Run(run, null, "--stage", "parent").ExitCode.ShouldBe(0);
        RunOutputs.Damage(checkpoint);

        var child = Sne.Run("run", Path.Combine(run, "config.yaml"), "--out", run, "--stage", "child", "--index", "0");
        child.ExitCode.ShouldBe(3, child.Output);
        child.Stderr.Trim().ShouldBe($"sne: error: {checkpoint} fails its SHA-256 check against parent.ckpt.sha256 (damaged or truncated); it is not used");
        File.Exists(Path.Combine(run, "children", "child-000.json")).ShouldBeFalse("no child is made from a damaged parent");

        var resumed = QuickSpirals.Run(run);
        resumed.ExitCode.ShouldBe(0, resumed.Output);
        resumed.Stdout.ShouldContain($"{checkpoint} fails its SHA-256 check (damaged or truncated); the parent stage is done again");
        resumed.Stdout.ShouldContain("parent epoch 1/5");
        RunOutputs.ShouldMatch(run, reference.Run);
    }
}

/// <summary>
/// A trust-region search with model selection (Noisy SE on spirals: untuned noisy children, 4 made, the best 2 kept, σ
/// chosen by a 3-point search), killed inside the search and between children, resumes to the uninterrupted numbers.
/// </summary>
public class TrustRegionResumeTests
{
    private static readonly string[] Overrides =
    [
        "--set", "children.count=4", "--set", "children.keep=2", "--set", "children.tuning=none",
        "--set", "children.sampler={type: bernoulli, sparsity: 0.5}", "--set", "children.perturbation={type: noise, sigma: 0.05}",
        "--set", "children.trust_region={sigmas: [0.01, 0.05, 0.2], samples: 200, draws: 2}",
    ];

    private static SneResult Execute(string run, string? fault = null) => QuickSpirals.Run(run, fault, Overrides);

    [Trait("Category", "e2e")]
    [Fact]
    public void A_trust_region_run_with_keep_killed_inside_the_search_and_between_children_resumes_to_the_uninterrupted_numbers()
    {
        using var dir = new TempDir();
        string reference = Path.Combine(dir.Path, "reference"), run = Path.Combine(dir.Path, "run");
        var uninterrupted = Execute(reference);
        uninterrupted.ExitCode.ShouldBe(0, uninterrupted.Output);
        Sne.Results(reference)["trust_region"]!["table"]!.AsArray().Count.ShouldBe(3);
        Sne.Results(reference)["ensemble"]!["member_indices"]!.AsArray().Count.ShouldBe(3, "the parent and keep: 2 of 4");

        // Inside the search: σ 0.01 and 0.05 are measured, 0.2 is not; the parent's last resume point is on disk.
        var inSearch = Execute(run, "kill:trust-region#2");
        inSearch.ExitCode.ShouldBe(137, inSearch.Output);
        File.Exists(Path.Combine(run, "trust_region.json")).ShouldBeFalse();

        // Run again, and killed again between children 2 and 3: the search is redone on the trained parent.
        var betweenChildren = Execute(run, "kill:child-start#3");
        betweenChildren.ExitCode.ShouldBe(137, betweenChildren.Output);
        betweenChildren.Stdout.ShouldContain("parent: all 5 epochs were trained earlier");
        betweenChildren.Stdout.ShouldNotContain("parent epoch");
        File.Exists(Path.Combine(run, "children", "child-001.json")).ShouldBeTrue();
        File.Exists(Path.Combine(run, "results.json")).ShouldBeFalse();

        // Finished: selection ranks the two children made by the previous process with the two made now.
        var resumed = Execute(run);
        resumed.ExitCode.ShouldBe(0, resumed.Output);
        resumed.Stdout.ShouldContain("Parent: done earlier");
        resumed.Stdout.ShouldContain("Child 2/4: done earlier");
        RunOutputs.ShouldMatch(run, reference);
    }
}
