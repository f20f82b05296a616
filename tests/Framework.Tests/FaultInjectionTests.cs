using Shouldly;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>The default spirals run, uninterrupted: what every killed-and-resumed run must equal.</summary>
public sealed class ReferenceSpirals : IDisposable
{
    private readonly TempDir _dir = new();

    public ReferenceSpirals()
    {
        Directory = Path.Combine(_dir.Path, "reference");
        var result = Sne.Run("run", Repo.Example("spirals.yaml"), "--out", Directory);
        result.ExitCode.ShouldBe(0, result.Output);
        Results = Sne.DeterministicResults(Directory);
    }

    /// <summary>The reference run directory.</summary>
    public string Directory { get; }

    /// <summary>Its results.json without wall times.</summary>
    public string Results { get; }

    /// <summary>
    /// Asserts that <paramref name="run"/> equals the reference in every deterministic output: results.json and
    /// metrics.jsonl without wall times, and the prediction files byte for byte.
    /// </summary>
    public void ShouldEqual(string run) => RunOutputs.ShouldMatch(run, Directory);

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// The real sne is SIGKILLed at exact points (SNE_FAULT=kill:POINT#N makes the process kill itself there) — in parent
/// training, at epoch boundaries, between and inside children, while checkpoints, predictions, results and reports
/// are written — and the same command, run again, must finish with results.json equal to an uninterrupted run.
/// </summary>
public class FaultInjectionTests(ReferenceSpirals reference) : IClassFixture<ReferenceSpirals>
{
    private static SneResult Run(string run, string? fault) =>
        Sne.RunWithEnvironment(fault is null ? new Dictionary<string, string>() : new() { ["SNE_FAULT"] = fault },
            "run", Repo.Example("spirals.yaml"), "--out", run);

    /// <summary>
    /// Each case: the fault, a line the resumed run must print (proof that it continued from the last finished unit
    /// rather than starting again — a rerun from scratch would reach the same numbers) and one it must not print (the
    /// interrupted unit is not taken as finished).
    /// </summary>
    [Trait("Category", "e2e")]
    [Theory]
    [InlineData("kill:parent-step#100", "parent: resuming at epoch 3/20, batch 1/36", "parent epoch 2/20:")]      // inside parent epoch 3
    [InlineData("kill:parent-epoch#5", "parent: resuming at epoch 6/20, batch 1/36", "parent epoch 5/20:")]       // right after the epoch-5 resume point is saved
    [InlineData("kill:write:parent.training#7", "parent: resuming at epoch 7/20, batch 1/36", "parent epoch 6/20:")] // the epoch-7 point is written but not yet renamed into place
    [InlineData("kill:parent-epoch#20", "parent: all 20 epochs were trained earlier", "parent epoch 20/20:")]               // the last epoch is saved, the parent not yet evaluated or written
    [InlineData("kill:write:parent.ckpt", "parent: all 20 epochs were trained earlier", "Parent: done earlier")]            // the parent checkpoint is half in place
    [InlineData("kill:write:parent.json", "parent: all 20 epochs were trained earlier", "Parent: done earlier")]            // the parent is complete but not yet marked done
    [InlineData("kill:child-start#2", "Child 1/4: done earlier", "Child 2/4: done earlier")]                     // between child 1 and child 2
    [InlineData("kill:child-step#500", "Child 1/4: done earlier", "Child 2/4: done earlier")]                    // inside child 2's tuning (360 steps a child)
    [InlineData("kill:write:child-002.ckpt", "Child 2/4: done earlier", "Child 3/4: done earlier")]              // child 3's checkpoint is being written
    [InlineData("kill:child-written#4", "Child 3/4: done earlier", "Child 4/4: done earlier")]                   // child 4's files are written, its results not yet
    [InlineData("kill:child-done#4", "Child 4/4: done earlier", "parent epoch")]                                 // every child is done, the ensemble not yet gathered
    [InlineData("kill:report", "Child 4/4: done earlier", "parent epoch")]                                       // the figures are drawn, the report files not yet written
    [InlineData("kill:write:metrics.jsonl", "Child 4/4: done earlier", "parent epoch")]                          // while writing metrics.jsonl
    [InlineData("kill:write:results.json", "Child 4/4: done earlier", "parent epoch")]                           // results.json is written but not yet renamed into place
    public void Killed_at_a_point_then_resumed_equals_an_uninterrupted_run(string fault, string resumedFrom, string notRedone)
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        var killed = Run(run, fault);
        killed.ExitCode.ShouldBe(137, $"{fault} was never reached: {killed.Output}");
        File.Exists(Path.Combine(run, "results.json")).ShouldBeFalse();

        var resumed = Run(run, null);
        resumed.ExitCode.ShouldBe(0, resumed.Output);
        resumed.Stdout.ShouldContain(resumedFrom, Case.Sensitive);
        resumed.Stdout.ShouldNotContain(notRedone, Case.Sensitive);
        reference.ShouldEqual(run);
        foreach (var file in new[] { "report.md", "report.html", "report/reliability.png", "metrics.jsonl" })
            File.Exists(Path.Combine(run, file)).ShouldBeTrue(file);
        Directory.GetFiles(run, "*.tmp-*", SearchOption.AllDirectories).ShouldBeEmpty("no temporary file may be left behind after a finished run");
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void A_full_disk_while_saving_keeps_the_previous_checkpoint_and_the_run_resumes()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        var full = Run(run, "enospc:write:parent.training#6");
        full.ExitCode.ShouldBe(3, full.Output);
        full.Stderr.ShouldContain("the disk is full");
        full.Stderr.ShouldContain("run the same command again to resume");
        full.Stderr.ShouldNotContain("   at ");   // no stack trace

        var resumed = Run(run, null);
        resumed.ExitCode.ShouldBe(0, resumed.Output);
        resumed.Stdout.ShouldContain("parent: resuming at epoch 6/20", Case.Sensitive);   // the epoch-5 point survived the failed save of epoch 6
        reference.ShouldEqual(run);

        using var dir2 = new TempDir();
        string run2 = Path.Combine(dir2.Path, "run");
        var childFull = Run(run2, "enospc:write:child-001.npy");
        childFull.ExitCode.ShouldBe(3, childFull.Output);
        childFull.Stderr.ShouldContain("the disk is full");
        childFull.Stderr.ShouldNotContain("   at ");
        File.Exists(Path.Combine(run2, "children", "child-000.json")).ShouldBeTrue();
        File.Exists(Path.Combine(run2, "children", "child-001.json")).ShouldBeFalse("the child whose predictions could not be saved is not done");
        var resumed2 = Run(run2, null);
        resumed2.ExitCode.ShouldBe(0, resumed2.Output);
        resumed2.Stdout.ShouldContain("Child 1/4: done earlier", Case.Sensitive);
        resumed2.Stdout.ShouldNotContain("Child 2/4: done earlier", Case.Sensitive);
        reference.ShouldEqual(run2);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Corrupted_checkpoints_are_reported_and_never_used()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        Run(run, "kill:parent-epoch#4").ExitCode.ShouldBe(137);
        Flip(Path.Combine(run, "parent.training"));
        var resumed = Run(run, null);
        resumed.ExitCode.ShouldBe(0, resumed.Output);
        resumed.Stdout.ShouldContain("parent.training fails its SHA-256 check");
        resumed.Stdout.ShouldNotContain("resuming at epoch");            // the damaged point was not used: training started again
        Sne.DeterministicResults(run).ShouldBe(reference.Results);

        // A damaged child checkpoint of a finished run: predict refuses it.
        Flip(Path.Combine(run, "children", "child-001.ckpt"));
        string input = Path.Combine(dir.Path, "x.csv");
        File.WriteAllText(input, "0.1,0.2\n");
        var predict = Sne.Run("predict", run, "--input", input);
        predict.ExitCode.ShouldBe(3, predict.Output);
        predict.Stderr.ShouldContain("child-001.ckpt fails its SHA-256 check");

        // In an unfinished run, a damaged child is made again rather than used.
        using var dir2 = new TempDir();
        string run2 = Path.Combine(dir2.Path, "run");
        Run(run2, "kill:child-start#4").ExitCode.ShouldBe(137);
        Flip(Path.Combine(run2, "children", "child-001.ckpt"));
        var again = Run(run2, null);
        again.ExitCode.ShouldBe(0, again.Output);
        again.Stdout.ShouldContain("Child 1/4: done earlier");
        again.Stdout.ShouldNotContain("Child 2/4: done earlier");
        Sne.DeterministicResults(run2).ShouldBe(reference.Results);
    }

    private static void Flip(string file)
    {
        var bytes = File.ReadAllBytes(file);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(file, bytes);
    }
}
