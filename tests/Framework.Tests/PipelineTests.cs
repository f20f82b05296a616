using System.Text.Json.Nodes;
using Shouldly;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>The real sne executable, end to end, as a user runs it.</summary>
public class PipelineTests
{
    private static double Number(JsonNode? node) => node!.GetValue<double>();

    [Trait("Category", "e2e")]
    [Fact]
    public void Spirals_runs_end_to_end_and_the_same_seed_gives_identical_results()
    {
        using var dir = new TempDir();
        string a = Path.Combine(dir.Path, "a"), b = Path.Combine(dir.Path, "b"), c = Path.Combine(dir.Path, "c");
        var first = Sne.Run("run", Repo.Example("spirals.yaml"), "--out", a);
        first.ExitCode.ShouldBe(0, first.Output);
        Sne.Run("run", Repo.Example("spirals.yaml"), "--out", b).ExitCode.ShouldBe(0);
        Sne.Run("run", Repo.Example("spirals.yaml"), "--out", c, "--set", "seed=1").ExitCode.ShouldBe(0);

        var ra = Sne.Results(a);
        Sne.DeterministicResults(b).ShouldBe(Sne.DeterministicResults(a));
        Sne.DeterministicResults(c).ShouldNotBe(Sne.DeterministicResults(a));

        // The run directory holds everything the issue lists.
        foreach (var f in new[] { "config.yaml", "config.original.yaml", "sne.log", "parent.ckpt", "results.json" })
            File.Exists(Path.Combine(a, f)).ShouldBeTrue(f);
        Directory.GetFiles(Path.Combine(a, "children"), "child-*.ckpt").Length.ShouldBe(4);
        ra["seed"]!.GetValue<long>().ShouldBe(0);
        foreach (var key in new[] { "accuracy", "nll", "ece" })
        {
            Number(ra["parent"]![key]).ShouldBeInRange(0, 30);
            Number(ra["ensemble"]![key]).ShouldBeInRange(0, 30);
        }
        var members = ra["members"]!.AsArray();
        members.Count.ShouldBe(4);
        foreach (var m in members) Number(m!["sparsity"]).ShouldBe(0.5, 0.001);
        Number(ra["parent"]!["accuracy"]).ShouldBeGreaterThan(0.75);  // learnable: chance is 0.5
        foreach (var stage in new[] { "data", "parent", "children", "ensemble", "total" }) Number(ra["seconds"]![stage]).ShouldBeGreaterThanOrEqualTo(0);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void A_finished_run_is_not_overwritten_without_force()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        Sne.Run("run", Repo.Example("spirals.yaml"), "--out", run, "--set", "parent.epochs=1", "--set", "children.tuning.epochs=1").ExitCode.ShouldBe(0);
        var before = Snapshot(run);
        var again = Sne.Run("run", Repo.Example("spirals.yaml"), "--out", run);
        again.ExitCode.ShouldBe(2);
        again.Stderr.ShouldContain("already holds a finished run");
        Snapshot(run).ShouldBe(before, "a refused run leaves every file of the finished run as it was");

        // --force replaces it: the parent now has 2 epochs instead of 1.
        var forced = Sne.Run("run", Repo.Example("spirals.yaml"), "--out", run, "--force", "--set", "parent.epochs=2", "--set", "children.tuning.epochs=1");
        forced.ExitCode.ShouldBe(0, forced.Output);
        Sne.Results(run)["parent"]!["history"]!.AsArray().Count.ShouldBe(2);
    }

    /// <summary>Every file under <paramref name="directory"/> with its SHA-256 and modification time.</summary>
    private static Dictionary<string, string> Snapshot(string directory) =>
        Directory.GetFiles(directory, "*", SearchOption.AllDirectories).ToDictionary(
            f => Path.GetRelativePath(directory, f),
            f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))) + " " + File.GetLastWriteTimeUtc(f).Ticks);

    [Trait("Category", "e2e")]
    [Fact]
    public void Fashion_mnist_subset_trains_a_real_parent_and_children_from_the_idx_files()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "fm");
        var result = Sne.Run("run", Repo.Example("fashion-mnist-sparse.yaml"), "--out", run,
            "--set", "data.train_subset=3000", "--set", "data.test_subset=1000", "--set", "model.hidden=[128]",
            "--set", "parent.epochs=3", "--set", "children.count=2", "--set", "children.tuning.epochs=1");
        result.ExitCode.ShouldBe(0, result.Output);
        var r = Sne.Results(run);
        r["data"]!["train"]!.GetValue<long>().ShouldBe(3000);
        r["data"]!["test"]!.GetValue<long>().ShouldBe(1000);
        r["data"]!["validation"]!.GetValue<long>().ShouldBe(5000);
        Number(r["parent"]!["accuracy"]).ShouldBeGreaterThan(0.6);        // 10 classes: chance is 0.1
        Number(r["ensemble"]!["accuracy"]).ShouldBeGreaterThan(0.6);
        r["members"]!.AsArray().Count.ShouldBe(2);
        r["parent"]!["history"]!.AsArray().Count.ShouldBe(3);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void An_unknown_plugin_name_exits_2_with_the_known_names_and_creates_no_run_directory()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "never");
        var result = Sne.Run("run", Repo.Example("spirals.yaml"), "--out", run, "--set", "children.perturbation.type=prnue");
        result.ExitCode.ShouldBe(2);
        result.Stderr.ShouldContain("unknown perturbation 'prnue' (did you mean 'prune'?); known: identity, iterative-prune, mirrored-noise, noise, prune, random-anneal, rigl, temperature-anneal");
        result.Stderr.ShouldNotContain("   at ");                 // no stack trace for a user mistake
        Directory.Exists(run).ShouldBeFalse();
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void A_yaml_syntax_error_exits_2_naming_file_line_and_column()
    {
        using var dir = new TempDir();
        string config = dir.File("broken.yaml", "seed: 0\nchildren:\n  count: 4\n   sampler: prune\n");
        var result = Sne.Run("run", config, "--out", Path.Combine(dir.Path, "never"));
        result.ExitCode.ShouldBe(2);
        result.Stderr.ShouldMatch(@"broken\.yaml:4:\d+: YAML syntax error");
        result.Stderr.ShouldNotContain("   at ");
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Cuda_without_a_cuda_build_is_a_clear_error()
    {
        var result = Sne.Run("validate", Repo.Example("spirals.yaml"), "--set", "device=cuda");
        result.ExitCode.ShouldBe(2);
        result.Stderr.ShouldContain("CUDA is not available");
        result.Stderr.ShouldContain("this build carries the CPU LibTorch (TorchSharp-cpu); build with -p:TorchBackend=cuda");
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void A_missing_data_directory_is_a_clear_error()
    {
        var result = Sne.Run("validate", Repo.Example("fashion-mnist-sparse.yaml"), "--set", "data.directory=/nonexistent/fmnist");
        result.ExitCode.ShouldBe(2);
        result.Stderr.ShouldContain("/nonexistent/fmnist: directory not found; install Fashion-MNIST with 'apt-get install -y dataset-fashion-mnist'");
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Usage_errors_exit_2_and_help_exits_0()
    {
        Sne.Run("run").ExitCode.ShouldBe(2);
        Sne.Run("frobnicate").ExitCode.ShouldBe(2);
        var help = Sne.Run("run", "--help");
        help.ExitCode.ShouldBe(0);
        help.Stdout.ShouldContain("--set");
    }

    /// <summary>The README promises <c>--help</c> with examples on every command.</summary>
    [Trait("Category", "e2e")]
    [Theory]
    [InlineData("run", "sne run <config>")]
    [InlineData("validate", "sne validate <config>")]
    [InlineData("plugins", "sne plugins")]
    [InlineData("report", "sne report <run-dir>")]
    [InlineData("grow", "sne grow <run-dir>")]
    [InlineData("predict", "sne predict <run-dir>")]
    [InlineData("submit", "sne submit <config>")]
    [InlineData("status", "sne status <run-dir>")]
    [InlineData("bench", "sne bench")]
    public void Every_command_has_help_with_its_usage_and_an_example(string verb, string usage)
    {
        var help = Sne.Run(verb, "--help");
        help.ExitCode.ShouldBe(0, help.Output);
        help.Stdout.ShouldContain(usage, Case.Sensitive);
        // "Example: sne VERB …" or an "Examples:" block whose lines start with "sne VERB".
        var lines = help.Stdout.Split('\n').Select(l => l.Trim()).ToList();
        int examples = lines.FindIndex(l => l.StartsWith("Example", StringComparison.Ordinal));
        examples.ShouldBeGreaterThanOrEqualTo(0, "an example in the help text");
        lines.Skip(examples).Take(4).ShouldContain(l => l.Contains("sne " + verb + " ", StringComparison.Ordinal) && !l.Contains('<'), "a concrete example of this command");
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Plugins_command_lists_every_plugin_with_its_options()
    {
        var result = Sne.Run("plugins");
        result.ExitCode.ShouldBe(0, result.Output);
        foreach (var name in new[] { "bernoulli", "partition", "prune", "sgd", "adam", "constant", "one-cycle", "linear-decay", "accuracy", "nll", "ece" })
            result.Stdout.ShouldContain(" " + name + " ");
        result.Stdout.ShouldContain("lr_max: 0.1");
        result.Stdout.ShouldContain("sparsity: 0.5  — Fraction of weights masked out");   // doc text from the plugin's XML docs

        var anneal = Sne.Run("plugins", "perturbation", "anneal");
        anneal.ExitCode.ShouldBe(0, anneal.Output);
        anneal.Stdout.Split('\n').Where(l => l.Length > 0 && l[0] != ' ').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1])
            .ShouldBe(["random-anneal", "temperature-anneal"]);
        Sne.Run("plugins", "schedules", "one-*").Stdout.ShouldContain("one-cycle");
        var badKind = Sne.Run("plugins", "bogus");
        badKind.ExitCode.ShouldBe(2);
        badKind.Stderr.ShouldContain("kinds: sampler, perturbation");
        var none = Sne.Run("plugins", "metric", "zzz");
        none.ExitCode.ShouldBe(2);
        none.Stderr.ShouldContain("known: ");
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Plain_progress_lines_and_the_live_display_both_report_training()
    {
        using var dir = new TempDir();
        var plain = Sne.Run("run", Repo.Example("spirals.yaml"), "--out", Path.Combine(dir.Path, "plain"), "--set", "parent.epochs=2", "--set", "children.count=1",
            "--progress", "plain", "--progress-interval", "0");
        plain.ExitCode.ShouldBe(0, plain.Output);
        plain.Stdout.ShouldMatch(@"parent: epoch 1/2, batch \d+/36, loss \d\.\d{4}, lr 0\.003, stage ETA \d+:\d\d");
        plain.Stdout.ShouldMatch(@"child 1/1: epoch \d+/10, batch \d+/36");

        // On a terminal (a pseudo-terminal from script(1)) the default, --progress auto, is the live display.
        string command = $"dotnet {Repo.SneDll} run {Repo.Example("spirals.yaml")} --out {Path.Combine(dir.Path, "live")} --set parent.epochs=2 --set children.count=1";
        var start = new System.Diagnostics.ProcessStartInfo("script", ["-qec", command, "/dev/null"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["TERM"] = "xterm-256color";
        using var script = System.Diagnostics.Process.Start(start)!;
        string screen = script.StandardOutput.ReadToEnd();
        script.WaitForExit();
        script.ExitCode.ShouldBe(0, screen);
        screen.ShouldContain("children");
        screen.ShouldContain("100%");
        screen.ShouldContain("\u001b[");                 // drawn with terminal escape sequences
        screen.ShouldContain("Results: ");
        Sne.DeterministicResults(Path.Combine(dir.Path, "live")).ShouldBe(Sne.DeterministicResults(Path.Combine(dir.Path, "plain")));
    }
}
