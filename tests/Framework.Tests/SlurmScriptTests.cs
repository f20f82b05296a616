using Microsoft.Extensions.Logging.Abstractions;
using Shouldly;
using SubnetworkEnsembles.Engine;
using SubnetworkEnsembles.Host;
using SubnetworkEnsembles.Host.Distributed;
using SubnetworkEnsembles.Host.Verbs;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// The sbatch scripts and config.yaml that <c>sne submit --slurm</c> writes, without Slurm (DistributedTests submits to a
/// real cluster): <c>--gpus N</c> asks every stage's job for N GPUs and runs every stage with <c>device: cuda</c>; without
/// it nothing asks for a GPU; a bad <c>--gpus</c> is one line naming it, exit 2, before anything is written.
/// </summary>
public class SlurmScriptTests
{
    private static readonly string[] Stages = ["parent", "children", "ensemble"];

    private static SlurmJobs Write(string run, int? gpus) =>
        SlurmSubmitter.WriteJobs(new RunRequest(Repo.Example("spirals.yaml"), run, [], [Repo.PluginsDirectory], false, false, Quiet: true),
            new SlurmOptions(null, "00:10:00", 2, gpus), NullLogger.Instance);

    private static string[] Scripts(SlurmJobs jobs) => [jobs.ParentScript, jobs.ChildrenScript!, jobs.EnsembleScript];

    /// <summary>The value of the top-level <c>device:</c> key of a config.yaml.</summary>
    private static string Device(string configFile) =>
        File.ReadAllLines(configFile).Single(l => l.StartsWith("device:", StringComparison.Ordinal))["device:".Length..].Trim();

    [Trait("Category", "unit")]
    [Fact]
    public void Gpus_ask_every_stage_job_for_that_many_gpus_and_run_every_stage_on_cuda()
    {
        using var dir = new TempDir();
        var jobs = Write(Path.Combine(dir.Path, "run"), gpus: 2);

        string config = Path.Combine(jobs.RunDirectory, "config.yaml");
        Device(config).ShouldBe("cuda");
        File.ReadAllText(Path.Combine(jobs.RunDirectory, "config.original.yaml")).ShouldNotContain("cuda", customMessage: "the user's file is kept as given");
        foreach (var (script, stage) in Scripts(jobs).Zip(Stages))
        {
            var lines = File.ReadAllLines(script);
            lines.Where(l => l.Contains("--gres", StringComparison.Ordinal)).ShouldBe(["#SBATCH --gres=gpu:2"], $"{stage}.sbatch");
            // Every stage runs the config.yaml that says device: cuda (later stages refuse any other configuration).
            lines[^1].ShouldStartWith("exec ", customMessage: stage);
            lines[^1].ShouldContain($" run '{config}' --out '{jobs.RunDirectory}' --stage {(stage == "children" ? "child" : stage)}", customMessage: stage);
            Array.IndexOf(lines, "#SBATCH --gres=gpu:2").ShouldBeLessThan(Array.IndexOf(lines, "set -euo pipefail"), "an #SBATCH line counts only before the first command");
        }
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Without_gpus_no_job_asks_for_a_gpu_and_the_device_stays_as_configured()
    {
        using var dir = new TempDir();
        var jobs = Write(Path.Combine(dir.Path, "run"), gpus: null);

        Device(Path.Combine(jobs.RunDirectory, "config.yaml")).ShouldBe("cpu");
        foreach (var (script, stage) in Scripts(jobs).Zip(Stages))
        {
            string text = File.ReadAllText(script);
            text.ShouldNotContain("--gres", customMessage: stage);
            text.ShouldNotContain("cuda", customMessage: stage);
            text.ShouldContain("#SBATCH --cpus-per-task=2", customMessage: stage);
        }
    }

    [Trait("Category", "unit")]
    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("two")]
    [InlineData("1.5")]
    public void A_gpus_value_that_is_not_a_positive_whole_number_is_one_line_naming_it_and_exit_2(string value)
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        int code;
        try
        {
            code = new VerbContext().Invoke(["submit", Repo.Example("spirals.yaml"), "--slurm", $"--gpus={value}", "--out", run]);
        }
        finally
        {
            Console.SetError(previous);
        }
        code.ShouldBe(ExitCodes.ConfigurationError, error.ToString());
        error.ToString().TrimEnd('\n').ShouldBe($"sne: error: --gpus expects a positive whole number of GPUs per job, got '{value}'");
        Directory.Exists(run).ShouldBeFalse("nothing is written before the options are checked");
    }
}
