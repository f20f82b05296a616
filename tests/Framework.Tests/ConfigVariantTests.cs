using Shouldly;
using SubnetworkEnsembles.Host.Configuration;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>extends: (deep merge, chains, cycles), environment and --seed overrides, and sweep: grids.</summary>
public class ConfigVariantTests
{
    private static ExperimentConfig Read(string path, IReadOnlyDictionary<string, string>? environment = null, params string[] overrides) =>
        ExperimentLoader.Read(path, overrides, environment: environment ?? new Dictionary<string, string>()).Config;

    [Trait("Category", "unit")]
    [Fact]
    public void Extends_merges_deeply_and_chains()
    {
        using var dir = new TempDir();
        dir.File("base.yaml", "name: base\nseed: 1\nparent: { epochs: 7, batch_size: 32, optimizer: { type: adam } }\nchildren: { count: 3 }\n");
        dir.File("middle.yaml", "extends: base.yaml\nparent: { epochs: 9 }\n");
        string top = dir.File("top.yaml", "extends: middle.yaml\nname: top\nchildren: { count: 5 }\n");
        var config = Read(top);
        config.Name.ShouldBe("top");
        config.Seed.ShouldBe(1);
        config.Parent.Epochs.ShouldBe(9);         // middle overrides base
        config.Parent.BatchSize.ShouldBe(32);     // kept from base: mappings merge key by key
        config.Parent.Optimizer.Type.ShouldBe("adam");
        config.Children.Count.ShouldBe(5);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void An_extends_cycle_and_a_missing_base_are_errors_at_the_extends_line()
    {
        using var dir = new TempDir();
        dir.File("a.yaml", "extends: b.yaml\nseed: 1\n");
        string b = dir.File("b.yaml", "seed: 2\nextends: a.yaml\n");
        var cycle = Should.Throw<ConfigException>(() => Read(b));
        cycle.Message.ShouldContain("a.yaml:1:10: extends: extends cycle: b.yaml → a.yaml → b.yaml");   // where the loop closes

        string missing = dir.File("m.yaml", "name: x\nextends: nowhere.yaml\n");
        Should.Throw<ConfigException>(() => Read(missing)).Message.ShouldContain("m.yaml:2:10: extends: base configuration");
    }

    [Trait("Category", "unit")]
    [Fact]
    public void A_mistake_in_a_base_file_is_reported_in_that_file()
    {
        using var dir = new TempDir();
        dir.File("base.yaml", "seed: 1\nparent:\n  epochs: many\n");
        string top = dir.File("top.yaml", "extends: base.yaml\nname: t\n");
        var error = Should.Throw<ConfigException>(() => Read(top));
        error.Message.ShouldContain("base.yaml:3:11: parent.epochs");
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Environment_overrides_apply_before_set_and_are_named_in_errors()
    {
        var env = new Dictionary<string, string> { ["SNE__CHILDREN__COUNT"] = "9", ["SNE__PARENT__BATCH_SIZE"] = "16" };
        var config = Read(Repo.Example("spirals.yaml"), env);
        config.Children.Count.ShouldBe(9);
        config.Parent.BatchSize.ShouldBe(16);
        Read(Repo.Example("spirals.yaml"), env, "children.count=2").Children.Count.ShouldBe(2);   // --set wins

        var bad = new Dictionary<string, string> { ["SNE__PARENT__EPOCHS"] = "lots" };
        Should.Throw<ConfigException>(() => Read(Repo.Example("spirals.yaml"), bad)).Message.ShouldContain("environment SNE__PARENT__EPOCHS");
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Sweep_axes_make_a_grid_and_bad_sweeps_are_located()
    {
        using var dir = new TempDir();
        string ok = dir.File("s.yaml", "extends: " + Repo.Example("spirals.yaml") + "\nsweep:\n  children.count: [2, 4]\n  parent.epochs: [1, 2, 3]\n");
        var document = YamlDocumentReader.Load(ok, [], new Dictionary<string, string>());
        var points = SubnetworkEnsembles.Host.Sweeps.SweepRunner.Points(document.Sweep);
        points.Count.ShouldBe(6);
        points.Select(p => p.Label).ShouldBe(["count=2, epochs=1", "count=2, epochs=2", "count=2, epochs=3", "count=4, epochs=1", "count=4, epochs=2", "count=4, epochs=3"]);
        points[4].DirectoryName.ShouldBe("004-count=4-epochs=2");

        string empty = dir.File("e.yaml", "seed: 1\nsweep:\n  children.count: []\n");
        Should.Throw<ConfigException>(() => YamlDocumentReader.Load(empty, [], new Dictionary<string, string>())).Message
            .ShouldContain("e.yaml:3:19: sweep.children.count: expected a non-empty list of values");
        string scalar = dir.File("f.yaml", "seed: 1\nsweep: 3\n");
        Should.Throw<ConfigException>(() => YamlDocumentReader.Load(scalar, [], new Dictionary<string, string>())).Message.ShouldContain("f.yaml:2:8: sweep");
    }
}

/// <summary>The CLI end to end for variants: --seed, env, sweep runs and their summary, validation of every point.</summary>
public class SweepCommandTests
{
    [Trait("Category", "e2e")]
    [Fact]
    public void A_sweep_runs_every_point_writes_the_summary_and_keeps_finished_points_when_run_again()
    {
        using var dir = new TempDir();
        string config = dir.File("sweep.yaml", "extends: " + Repo.Example("spirals.yaml") + "\nparent: { epochs: 3 }\nchildren: { count: 2, tuning: { epochs: 1 } }\n" +
            "sweep:\n  children.sampler.k: [2, 3]\n  children.sampler.structure: [connections, neurons]\n");
        string output = Path.Combine(dir.Path, "out");
        var result = Sne.Run("run", config, "--out", output, "--quiet");
        result.ExitCode.ShouldBe(0, result.Output);
        var csv = File.ReadAllLines(Path.Combine(output, "sweep.csv"));
        csv.Length.ShouldBe(5);
        csv[0].ShouldStartWith("point,children.sampler.k,children.sampler.structure,ensemble.accuracy");
        csv[1].ShouldStartWith("0,2,connections,");
        csv[4].ShouldStartWith("3,3,neurons,");
        // Each row's ensemble accuracy is the one in that point's results.json.
        var point3 = Sne.Results(Path.Combine(output, "003-k=3-structure=neurons"));
        double accuracy = point3["ensemble"]!["accuracy"]!.GetValue<double>();
        csv[4].Split(',')[3].ShouldBe(accuracy.ToString("F4", System.Globalization.CultureInfo.InvariantCulture));
        File.ReadAllText(Path.Combine(output, "sweep.md")).ShouldContain("| 3 | 3 | neurons |");
        result.Stdout.ShouldContain("| point | children.sampler.k |");

        var again = Sne.Run("run", config, "--out", output);
        again.ExitCode.ShouldBe(0, again.Output);
        again.Stdout.ShouldContain("Sweep point 3: done earlier");
        again.Stdout.ShouldNotContain("parent epoch");
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Validate_checks_every_sweep_point_and_names_the_bad_one()
    {
        using var dir = new TempDir();
        string config = dir.File("sweep.yaml", "extends: " + Repo.Example("spirals.yaml") + "\nsweep:\n  children.sampler.k: [2, 1]\n");
        var result = Sne.Run("validate", config);
        result.ExitCode.ShouldBe(2, result.Output);
        result.Stderr.ShouldContain("(sweep point 1: k=1)");
        Directory.Exists(Path.Combine(dir.Path, "runs")).ShouldBeFalse();
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Seed_option_and_environment_variables_reach_the_run()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        var result = Sne.RunWithEnvironment(new Dictionary<string, string> { ["SNE__PARENT__EPOCHS"] = "2", ["SNE__CHILDREN__COUNT"] = "2" },
            "run", Repo.Example("spirals.yaml"), "--out", run, "--seed", "7", "--set", "seed=3", "--quiet");
        result.ExitCode.ShouldBe(0, result.Output);
        result.Stdout.ShouldBeEmpty("--quiet prints only warnings and errors");
        var results = Sne.Results(run);
        results["seed"]!.GetValue<long>().ShouldBe(7);
        results["members"]!.AsArray().Count.ShouldBe(2);
        results["parent"]!["history"]!.AsArray().Count.ShouldBe(2);
        File.ReadAllText(Path.Combine(run, "sne.log")).ShouldContain("parent epoch 2/2");
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Json_log_format_writes_one_json_object_per_line()
    {
        using var dir = new TempDir();
        var result = Sne.Run("run", Repo.Example("spirals.yaml"), "--out", Path.Combine(dir.Path, "run"), "--set", "parent.epochs=1", "--set", "children.count=2",
            "--log-format", "json");
        result.ExitCode.ShouldBe(0, result.Output);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Length.ShouldBeGreaterThan(5);
        var messages = lines.Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!).ToList();
        messages.ShouldAllBe(m => m["LogLevel"] != null && m["Category"] != null && m["Timestamp"] != null);
        messages.ShouldContain(m => m["Message"]!.GetValue<string>().StartsWith("parent epoch 1/1: loss "));
    }
}
