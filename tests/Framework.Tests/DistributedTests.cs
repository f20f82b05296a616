using System.Diagnostics;
using Shouldly;
using Xunit;
using Xunit.Abstractions;

namespace SubnetworkEnsembles.Tests;

/// <summary>Stages against one run directory, as Slurm or Kubernetes run them, and a real single-node Slurm.</summary>
public class DistributedTests(ITestOutputHelper output)
{
    private static readonly string[] Small = ["--set", "threads=1", "--set", "parent.epochs=5", "--set", "children.tuning.epochs=2"];

    private static string[] Args(params string[] args) => [.. args, .. Small];

    [Trait("Category", "e2e")]
    [Fact]
    public async Task Stages_run_as_separate_processes_give_exactly_the_single_process_results()
    {
        using var dir = new TempDir();
        string single = Path.Combine(dir.Path, "single"), staged = Path.Combine(dir.Path, "staged");
        Sne.Run(Args("run", Repo.Example("spirals.yaml"), "--out", single)).ExitCode.ShouldBe(0);

        Sne.Run(Args("run", Repo.Example("spirals.yaml"), "--out", staged, "--stage", "parent")).ExitCode.ShouldBe(0);
        string config = Path.Combine(staged, "config.yaml");
        // Children in any order; the index from --index, Slurm's array variable or Kubernetes' completion index.
        Sne.Run("run", config, "--out", staged, "--stage", "child", "--index", "3").ExitCode.ShouldBe(0);
        Sne.RunWithEnvironment(new Dictionary<string, string> { ["SLURM_ARRAY_TASK_ID"] = "1" }, "run", config, "--out", staged, "--stage", "child").ExitCode.ShouldBe(0);
        Sne.RunWithEnvironment(new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "0" }, "run", config, "--out", staged, "--stage", "child").ExitCode.ShouldBe(0);

        // The gather refuses while a child is missing, naming it.
        var early = Sne.Run("run", config, "--out", staged, "--stage", "ensemble");
        early.ExitCode.ShouldBe(3);
        early.Stderr.ShouldContain("child 2 is missing");
        File.Exists(Path.Combine(staged, "results.json")).ShouldBeFalse();
        var status = Sne.Run("status", staged);
        status.Stdout.ShouldContain("child 2   pending");
        status.Stdout.ShouldContain("3/4 children done");

        Sne.Run("run", config, "--out", staged, "--stage", "child", "--index", "2").ExitCode.ShouldBe(0);
        // Two gathers at once cannot corrupt the output: both succeed and results.json is whole.
        var gathers = Enumerable.Range(0, 2).Select(_ => Task.Run(() => Sne.Run("run", config, "--out", staged, "--stage", "ensemble"))).ToArray();
        var results = await Task.WhenAll(gathers).WaitAsync(TimeSpan.FromMinutes(5));
        results.ShouldAllBe(g => g.ExitCode == 0);
        Sne.DeterministicResults(staged).ShouldBe(Sne.DeterministicResults(single));
        Directory.GetFiles(staged, "*.tmp-*", SearchOption.AllDirectories).ShouldBeEmpty();
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void A_failed_child_is_reported_and_rerunning_it_replaces_only_its_own_output()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        Sne.Run(Args("run", Repo.Example("spirals.yaml"), "--out", run, "--stage", "parent", "--set", "children.count=2")).ExitCode.ShouldBe(0);
        string config = Path.Combine(run, "config.yaml");
        Sne.Run("run", config, "--out", run, "--stage", "child", "--index", "0").ExitCode.ShouldBe(0);
        var child0 = File.ReadAllBytes(Path.Combine(run, "children", "child-000.ckpt"));
        var stamp0 = File.GetLastWriteTimeUtc(Path.Combine(run, "children", "child-000.json"));

        // A child that fails (here: its parent checkpoint is briefly unreadable) leaves a .failed marker with the reason.
        string parent = Path.Combine(run, "parent.ckpt");
        File.Move(parent, parent + ".away");
        var failed = Sne.Run("run", config, "--out", run, "--stage", "child", "--index", "1");
        failed.ExitCode.ShouldBe(3, failed.Output);
        string reason = $"child 1 needs the parent: {parent} is missing (run --stage parent first)";
        failed.Stderr.Trim().ShouldBe($"sne: error: {reason}", "one line, no stack trace");
        File.Move(parent + ".away", parent);
        string marker = Path.Combine(run, "children", "child-001.failed");
        File.Exists(marker).ShouldBeTrue("a failed child leaves children/child-NNN.failed");
        File.ReadAllText(marker).ShouldContain(reason);
        var status = Sne.Run("status", run);
        status.ExitCode.ShouldBe(0, status.Output);
        status.Stdout.Split('\n').ShouldContain(l => l.StartsWith("child 1   failed: ", StringComparison.Ordinal) && l.Contains(reason), status.Stdout);
        status.Stdout.ShouldContain("child 0   done");
        status.Stdout.ShouldContain("1/2 children done, 1 failed, 0 pending");
        var gather = Sne.Run("run", config, "--out", run, "--stage", "ensemble");
        gather.ExitCode.ShouldBe(3);
        gather.Stderr.ShouldContain($"child 1 failed: IncompleteRunException: {reason}");

        var rerun = Sne.Run("run", config, "--out", run, "--stage", "child", "--index", "1");
        rerun.ExitCode.ShouldBe(0, rerun.Output);
        File.Exists(Path.Combine(run, "children", "child-001.failed")).ShouldBeFalse();
        File.ReadAllBytes(Path.Combine(run, "children", "child-000.ckpt")).ShouldBe(child0);
        File.GetLastWriteTimeUtc(Path.Combine(run, "children", "child-000.json")).ShouldBe(stamp0);
        Sne.Run("run", config, "--out", run, "--stage", "ensemble").ExitCode.ShouldBe(0);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void A_new_parent_never_meets_the_children_of_an_earlier_one()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        Sne.Run(Args("run", Repo.Example("spirals.yaml"), "--out", run, "--stage", "parent")).ExitCode.ShouldBe(0);
        Sne.Run("run", Path.Combine(run, "config.yaml"), "--out", run, "--stage", "child", "--index", "0").ExitCode.ShouldBe(0);
        File.Exists(Path.Combine(run, "children", "child-000.json")).ShouldBeTrue();
        // Another configuration on an unfinished run is refused, and only --force starts it afresh.
        var refused = Sne.Run(Args("run", Repo.Example("spirals.yaml"), "--out", run, "--stage", "parent", "--set", "seed=3"));
        refused.ExitCode.ShouldBe(2, refused.Output);
        File.Exists(Path.Combine(run, "children", "child-000.json")).ShouldBeTrue();
        Sne.Run(Args("run", Repo.Example("spirals.yaml"), "--out", run, "--stage", "parent", "--set", "seed=3", "--force")).ExitCode.ShouldBe(0);
        File.Exists(Path.Combine(run, "children", "child-000.json")).ShouldBeFalse();
        Sne.Run("status", run).Stdout.ShouldContain("0/4 children done");
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Stage_usage_errors_are_clear()
    {
        using var dir = new TempDir();
        var noOut = Sne.Run("run", Repo.Example("spirals.yaml"), "--stage", "child", "--index", "0");
        noOut.ExitCode.ShouldBe(2);
        noOut.Stderr.ShouldContain("needs --out RUN_DIR");
        string run = Path.Combine(dir.Path, "run");
        Sne.Run(Args("run", Repo.Example("spirals.yaml"), "--out", run, "--stage", "parent")).ExitCode.ShouldBe(0);
        var mismatch = Sne.Run("run", Repo.Example("spirals.yaml"), "--out", run, "--stage", "child", "--index", "0", "--set", "seed=5");
        mismatch.ExitCode.ShouldBe(2);
        mismatch.Stderr.ShouldContain("is not the configuration of");
        var noIndex = Sne.Run("run", Path.Combine(run, "config.yaml"), "--out", run, "--stage", "child");
        noIndex.ExitCode.ShouldBe(2);
        noIndex.Stderr.ShouldContain("--stage child needs --index");
        var outOfRange = Sne.Run("run", Path.Combine(run, "config.yaml"), "--out", run, "--stage", "child", "--index", "9");
        outOfRange.ExitCode.ShouldBe(3);
        outOfRange.Stderr.ShouldContain("outside 0 … 3");
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Spirals_submitted_to_a_real_slurm_cluster_equal_a_single_process_run()
    {
        EnsureLocalSlurm();
        using var dir = new TempDir();
        string single = Path.Combine(dir.Path, "single"), slurm = Path.Combine(dir.Path, "slurm");
        Sne.Run(Args("run", Repo.Example("spirals.yaml"), "--out", single)).ExitCode.ShouldBe(0);

        var submit = Sne.Run(Args("submit", Repo.Example("spirals.yaml"), "--slurm", "--cpus", "1", "--time", "00:10:00", "--out", slurm));
        submit.ExitCode.ShouldBe(0, submit.Output);
        var ids = submit.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToDictionary(l => l.Split(' ')[0], l => l.Split(' ')[1]);
        ids.Keys.ShouldBe(["parent", "children", "ensemble"]);
        output.WriteLine($"slurm: submitted parent job {ids["parent"]}, children array job {ids["children"]}, ensemble job {ids["ensemble"]}");
        File.ReadAllText(Path.Combine(slurm, "slurm", "children.sbatch")).ShouldContain("#SBATCH --array=0-3");

        var clock = Stopwatch.StartNew();
        while (JobActive(ids["ensemble"]) && clock.Elapsed < TimeSpan.FromMinutes(8)) Thread.Sleep(1000);
        File.Exists(Path.Combine(slurm, "results.json")).ShouldBeTrue(string.Join("\n", Directory.GetFiles(Path.Combine(slurm, "slurm"), "*.out").Select(File.ReadAllText)));
        // Slurm itself says every job completed (finished jobs stay visible to scontrol for MinJobAge, 300 s by default).
        foreach (var (stage, id) in ids)
        {
            string state = JobStates(id);
            output.WriteLine($"slurm: {stage} job {id}: {state}");
            state.Split(' ').ShouldAllBe(s => s == "COMPLETED", $"{stage} job {id}");
        }
        JobStates(ids["children"]).Split(' ').Length.ShouldBe(4, "one array task per child");
        output.WriteLine($"slurm: all jobs completed {clock.Elapsed.TotalSeconds:F0} s after submission");
        Sne.DeterministicResults(slurm).ShouldBe(Sne.DeterministicResults(single));
        Directory.GetFiles(Path.Combine(slurm, "slurm"), "children-*.out").Length.ShouldBe(4);   // four array tasks ran
        Sne.Run("status", slurm).Stdout.ShouldContain("4/4 children done, 0 failed, 0 pending");
    }

    /// <summary>The JobState of every job (every task of an array) with this id, as scontrol reports it.</summary>
    private static string JobStates(string id)
    {
        var scontrol = Process.Start(new ProcessStartInfo("scontrol", ["show", "job", id, "--oneliner"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        string text = scontrol.StandardOutput.ReadToEnd();
        scontrol.WaitForExit();
        return string.Join(' ', text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ').First(f => f.StartsWith("JobState=", StringComparison.Ordinal))["JobState=".Length..]));
    }

    private static bool JobActive(string id)
    {
        var squeue = Process.Start(new ProcessStartInfo("squeue", ["-h", "-j", id, "-o", "%T"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        string state = squeue.StandardOutput.ReadToEnd().Trim();
        squeue.WaitForExit();
        return state.Length > 0;
    }

    /// <summary>
    /// Starts the single-node cluster of deploy/slurm/ when none answers (<c>./sne test</c> installs slurm-wlm + munge and
    /// starts it; as root this does it too). Where that is impossible the test fails with one line saying what to run.
    /// </summary>
    private static void EnsureLocalSlurm()
    {
        string output;
        int exitCode;
        try
        {
            var start = Process.Start(new ProcessStartInfo("bash", [Path.Combine(Repo.Root, "deploy", "slurm", "start-local-cluster.sh"), "2"])
            { RedirectStandardOutput = true, RedirectStandardError = true })!;
            output = start.StandardOutput.ReadToEnd() + start.StandardError.ReadToEnd();
            start.WaitForExit();
            exitCode = start.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception e) { (output, exitCode) = (e.Message, -1); }
        if (exitCode != 0)
            throw new Xunit.Sdk.XunitException("no local Slurm cluster answers and none could be started (" +
                string.Join(' ', output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) +
                "); run the tests as root with `./sne test`, or once as root: apt-get install -y slurm-wlm munge && bash deploy/slurm/start-local-cluster.sh 2");
    }
}
