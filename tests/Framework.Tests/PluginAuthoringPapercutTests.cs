using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Experiments.Plugins;
using SubnetworkEnsembles.Experiments.Results;
using SubnetworkEnsembles.Host;
using SubnetworkEnsembles.Host.Verbs;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>A metric plugin whose constructor throws (registered in process).</summary>
[Plugin("throws-on-construct", PluginKind.Metric, Description = "cannot be constructed")]
public sealed class ThrowingConstructorMetric : IMetric
{
    /// <summary>Always throws.</summary>
    public ThrowingConstructorMetric() => throw new ArgumentException("the constructor refuses");

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Compute(MetricInput input) => new Dictionary<string, double>();
}

/// <summary>A metric whose Compute always throws.</summary>
public sealed class ThrowingComputeMetric : IMetric
{
    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Compute(MetricInput input) => throw new InvalidOperationException("cannot compute");
}

/// <summary>A metric that reports one fixed key with a fixed value.</summary>
public sealed class FixedKeyMetric(string key, double value) : IMetric
{
    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Compute(MetricInput input) => new Dictionary<string, double> { [key] = value };
}

/// <summary>
/// The papercuts a plugin author met (issue 15, point 5), each checked in process: constructors checked before training,
/// two metrics with one key, stray DLLs in plugin folders, --plugins kept in the run's config.yaml and accepted by
/// grow/predict/report, the plugins recorded in results.json, and the TorchSharp version named when a plugin differs.
/// </summary>
public class PluginAuthoringPapercutTests
{
    private static (int Code, string Stderr) Guarded(Func<int> command)
    {
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        try { return (command(), error.ToString()); }
        finally { Console.SetError(previous); }
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Every_configured_plugin_is_constructed_before_training_and_a_throwing_constructor_names_its_key_path()
    {
        var catalog = TestData.Catalog().Register<ThrowingConstructorMetric>();
        var config = new ExperimentConfig { Metrics = [PluginSpec.Named("accuracy"), PluginSpec.Named("throws-on-construct")] };
        PluginResolution.Resolve(config, catalog);
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        Microsoft.Extensions.DependencyInjection.LoggingServiceCollectionExtensions.AddLogging(services);
        using var provider = Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(services.AddSubnetworkPlugins(catalog));
        var factory = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<PluginFactory>(provider);

        var e = Should.Throw<PluginLoadException>(() => factory.ConstructAll(config));
        e.Message.ShouldStartWith("metrics[1]: metric plugin 'throws-on-construct' (SubnetworkEnsembles.Tests.ThrowingConstructorMetric in ");
        e.Message.ShouldEndWith("failed to construct: the constructor refuses");
        e.ExitCode.ShouldBe(3);

        config.Metrics.RemoveAt(1);
        factory.ConstructAll(config);   // every other plugin of the default experiment constructs
        config.Metrics.Select(m => m.Type).ShouldBe(["accuracy"]);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Two_metrics_reporting_one_key_fail_with_one_line_naming_both_plugins()
    {
        var evaluation = new Experiments.Pipeline.MemberEvaluation(
            [("accuracy", new FixedKeyMetric("accuracy", 0.5)), ("nll", new FixedKeyMetric("nll", 1)), ("my-accuracy", new FixedKeyMetric("accuracy", 0.7))],
            new SubnetworkEnsembles.Combiners.MeanCombiner(new SubnetworkEnsembles.Combiners.MeanCombinerOptions()));
        using var probabilities = tensor(new float[] { 0.9f, 0.1f, 0.2f, 0.8f }, [2, 2]);
        using var labels = tensor(new long[] { 0, 1 });
        var e = Should.Throw<Experiments.Pipeline.DuplicateMetricKeyException>(() => evaluation.OfOneModel(probabilities, labels));
        e.Message.ShouldContain("two metrics report 'accuracy': metrics[0] 'accuracy' (SubnetworkEnsembles.Tests.FixedKeyMetric) and metrics[2] 'my-accuracy'");

        var (code, stderr) = Guarded(() => CommandErrors.Guard(false, () => evaluation.OfOneModel(probabilities, labels).Values.Count));
        code.ShouldBe(3);
        stderr.Trim().Split('\n').Length.ShouldBe(1, stderr);
        stderr.ShouldStartWith("sne: error: two metrics report 'accuracy'");
        stderr.ShouldNotContain("unexpected failure");

        // Found before anything trains: validate and run compute the metrics once on a synthetic input (a metric that
        // cannot take it is skipped there and checked by the real evaluation).
        Should.Throw<Experiments.Pipeline.DuplicateMetricKeyException>(() => Experiments.Pipeline.MemberEvaluation.CheckDistinctKeys(
            [("a", new FixedKeyMetric("x", 1)), ("broken", new ThrowingComputeMetric()), ("b", new FixedKeyMetric("x", 2))]))
            .Message.ShouldContain("metrics[0] 'a' (SubnetworkEnsembles.Tests.FixedKeyMetric) and metrics[2] 'b'");
        Experiments.Pipeline.MemberEvaluation.CheckDistinctKeys([("a", new FixedKeyMetric("x", 1)), ("broken", new ThrowingComputeMetric())]);
        var (validate, message) = Guarded(() => Commands.Validate(new RunRequest(Repo.Example("spirals.yaml"), null, ["metrics=[accuracy, nll, accuracy]"],
            [Repo.PluginsDirectory], false, false, Quiet: true)));
        validate.ShouldBe(3, message);
        message.Trim().ShouldBe("sne: error: two metrics report 'accuracy': metrics[0] 'accuracy' (SubnetworkEnsembles.Metrics.AccuracyMetric) and " +
            "metrics[2] 'accuracy' (SubnetworkEnsembles.Metrics.AccuracyMetric); results.json keeps one value per key — drop one of them from metrics:, " +
            "or rename the key one of them returns");
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Dlls_that_do_not_follow_the_plugin_folder_layout_are_reported_by_name_and_the_rest_still_load()
    {
        using var dir = new TempDir();
        string combiners = Path.Combine(Repo.PluginsDirectory, "SubnetworkEnsembles.Combiners");
        string good = Path.Combine(dir.Path, "SubnetworkEnsembles.Combiners");
        Directory.CreateDirectory(good);
        foreach (var file in Directory.GetFiles(combiners)) File.Copy(file, Path.Combine(good, Path.GetFileName(file)));
        dir.File("Loose.dll", "not loaded");
        Directory.CreateDirectory(Path.Combine(dir.Path, "Misnamed"));
        File.Copy(Path.Combine(combiners, "SubnetworkEnsembles.Combiners.dll"), Path.Combine(dir.Path, "Misnamed", "MyPlugin.dll"));
        Directory.CreateDirectory(Path.Combine(dir.Path, "NoDlls"));   // no DLL: nothing to say

        var catalog = PluginCatalog.Discover([dir.Path], NullLogger.Instance);
        catalog.NamesOf(PluginKind.Combiner).ShouldBe(["mean", "mean-logits", "vote"]);
        catalog.Warnings.Count.ShouldBe(2, string.Join("\n", catalog.Warnings));
        catalog.Warnings[0].ShouldStartWith($"{Path.Combine(dir.Path, "Loose.dll")} is not loaded");
        catalog.Warnings[0].ShouldContain(Path.Combine(dir.Path, "Loose", "Loose.dll"));
        catalog.Warnings[1].ShouldStartWith($"{Path.Combine(dir.Path, "Misnamed", "MyPlugin.dll")} is not loaded: plugin folder {Path.Combine(dir.Path, "Misnamed")} has no Misnamed.dll");
        catalog.Warnings[1].ShouldContain("rename it to MyPlugin/");

        // A folder given as one plugin that holds only another name's DLL.
        var (assemblies, warnings) = PluginFolders.Scan(Path.Combine(dir.Path, "Misnamed"));
        assemblies.ShouldBeEmpty();
        warnings.ShouldHaveSingleItem().ShouldContain("MyPlugin.dll is not loaded");
        PluginFolders.Scan(good).Warnings.ShouldBeEmpty();   // dependencies beside F/F.dll are not strays
    }

    [Trait("Category", "unit")]
    [Fact]
    public void A_plugin_built_against_another_TorchSharp_is_told_which_version_this_sne_ships()
    {
        var host = typeof(TorchSharp.torch).Assembly.GetName().Version!;
        PluginFolders.HostTorchSharp.ShouldBe(host);
        string message = PluginFolders.TorchSharpMismatch(new Version(0, 105, 2, 0));
        message.ShouldBe($"; it was built against TorchSharp 0.105.2.0, but this sne ships TorchSharp {host}: rebuild it against TorchSharp {host.ToString(3)}");
        PluginFolders.TorchSharpMismatch(host).ShouldBe("");
        PluginFolders.TorchSharpMismatch(null).ShouldBe("");

        // Read from the metadata of a built plugin (without loading it); nothing for a file that is not an assembly.
        PluginFolders.TorchSharpBuiltAgainst(Path.Combine(Repo.PluginsDirectory, "SubnetworkEnsembles.Samplers", "SubnetworkEnsembles.Samplers.dll")).ShouldBe(host);
        using var dir = new TempDir();
        PluginFolders.TorchSharpBuiltAgainst(dir.File("fake.dll", "MZ not a PE file")).ShouldBeNull();
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Plugin_directories_given_on_the_command_line_are_kept_in_the_resolved_config_and_grow_predict_report_accept_them()
    {
        using var dir = new TempDir();
        string extra = Path.Combine(dir.Path, "my-plugins");
        Directory.CreateDirectory(extra);
        var (config, _, _) = Commands.Resolve(new RunRequest(Repo.Example("spirals.yaml"), null, [], [Repo.PluginsDirectory, extra], false, false), NullLogger.Instance);
        config.Plugins.Directories.ShouldBe([Repo.PluginsDirectory, extra]);
        string written = dir.File("config.yaml", ResolvedConfigWriter.ToYaml(config));

        // The run's config.yaml alone finds them again, and names each once when they are given again.
        var (again, _, _) = Commands.Resolve(new RunRequest(written, null, [], [extra], false, false), NullLogger.Instance);
        again.Plugins.Directories.ShouldBe([Repo.PluginsDirectory, extra]);

        var root = new VerbContext().BuildRootCommand();
        string[][] lines = [["grow", dir.Path, "--children", "1"], ["predict", dir.Path, "--input", "x.csv"], ["report", dir.Path]];
        foreach (var line in lines) root.Parse([.. line, "--plugins", extra]).Errors.ShouldBeEmpty(string.Join(' ', line));
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Results_record_every_plugin_used_once_with_assembly_version_and_sha256_and_older_files_still_read()
    {
        var catalog = PluginCatalog.Discover([Repo.PluginsDirectory], NullLogger.Instance);
        var config = new ExperimentConfig();
        PluginResolution.Resolve(config, catalog);
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        using var provider = Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(services.AddSubnetworkPlugins(catalog));
        var factory = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<PluginFactory>(provider);

        var records = PluginRecord.Of(config, factory);
        var used = PluginResolution.SpecsOf(config).Select(s => (s.Kind.ToString().ToLowerInvariant(), s.Spec.Type)).Distinct().Order().ToList();
        records.Select(r => (r.Kind, r.Name)).Order().ShouldBe(used);
        records.Count.ShouldBeLessThan(PluginResolution.SpecsOf(config).Count());   // adam optimizes parent and children: listed once
        var partition = records.Single(r => r.Kind == "sampler" && r.Name == "partition");
        partition.Assembly.ShouldBe("SubnetworkEnsembles.Samplers");
        partition.Class.ShouldBe("SubnetworkEnsembles.Samplers.PartitionSampler");
        partition.File.ShouldBe(Path.Combine(Repo.PluginsDirectory, "SubnetworkEnsembles.Samplers", "SubnetworkEnsembles.Samplers.dll"));
        partition.Sha256.ShouldBe(Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(partition.File!))).ToLowerInvariant());
        partition.Version.ShouldBe(catalog.Find(PluginKind.Sampler, "partition")!.ImplementationType.Assembly.GetName().Version!.ToString());

        using var dir = new TempDir();
        var results = new ExperimentResults { Name = "x", Ensemble = new EnsembleResult { Combiner = "mean" }, Plugins = records };
        string withPlugins = dir.File("results.json", results.ToJson());
        File.ReadAllText(withPlugins).ShouldContain($"\"sha256\": \"{partition.Sha256}\"");
        ExperimentResults.Read(withPlugins).Plugins!.Count.ShouldBe(records.Count);
        string older = dir.File("older.json", (results with { Plugins = null }).ToJson());
        File.ReadAllText(older).ShouldNotContain("\"plugins\"");
        ExperimentResults.Read(older).Plugins.ShouldBeNull();
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Sne_plugins_shows_the_plugin_classes_doc_comment_besides_its_options_docs()
    {
        var output = new StringWriter();
        var previous = Console.Out;
        Console.SetOut(output);
        int code;
        try { code = PluginsVerb.Execute("metric", "ece", [Repo.PluginsDirectory], verbose: false); }
        finally { Console.SetOut(previous); }
        code.ShouldBe(0, output.ToString());
        var lines = output.ToString().Split('\n').Select(l => l.TrimEnd()).ToList();
        lines[0].ShouldStartWith("metric        ece ");
        // The class's <summary>, wrapped and indented under the plugin; a <see cref> to a method reads as its name.
        string classDoc = string.Join(' ', lines.Skip(1).TakeWhile(l => !l.TrimStart().StartsWith("bins:", StringComparison.Ordinal)).Select(l => l.Trim()));
        classDoc.ShouldStartWith("Expected calibration error ECE = Σ_b (|B_b|/N) |acc(B_b) − conf(B_b)|");
        classDoc.ShouldContain("see BinIndex)");
        classDoc.ShouldContain("Bins gives the bins themselves.");
        lines.Skip(1).ShouldAllBe(l => l.Length == 0 || l.StartsWith(new string(' ', 30), StringComparison.Ordinal));
        lines.ShouldContain(l => l.TrimStart().StartsWith("bins: 15  — Number of equal-width confidence bins", StringComparison.Ordinal));

        PluginDocumentation.Wrap("aa bb cc dd", 5).ShouldBe(["aa bb", "cc dd"]);
        PluginDocumentation.Wrap("a-very-long-word x", 5).ShouldBe(["a-very-long-word", "x"]);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void No_doc_comment_or_plugin_description_cites_a_SPEC_file_that_is_not_in_the_repository()
    {
        File.Exists(Path.Combine(Repo.Root, "SPEC.md")).ShouldBeFalse("SPEC.md is in the repository now: this test's premise is gone");
        var citing = new[] { "src", "plugins" }
            .SelectMany(d => Directory.GetFiles(Path.Combine(Repo.Root, d), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: f, Line: i + 1, Text: line)))
            .Where(l => l.Text.Contains("SPEC", StringComparison.Ordinal) && (l.Text.TrimStart().StartsWith("///", StringComparison.Ordinal) || l.Text.Contains("Description", StringComparison.Ordinal)))
            .Select(l => $"{Path.GetRelativePath(Repo.Root, l.File)}:{l.Line}: {l.Text.Trim()}")
            .ToList();
        citing.ShouldBeEmpty("cite the dissertation's section (e.g. 'dissertation §3.2', 'ch. 6') instead:\n" + string.Join("\n", citing));
    }
}
