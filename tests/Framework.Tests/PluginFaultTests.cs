using System.Security.Cryptography;
using Shouldly;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// Faulty plugins built from source, as a third party would: a perturbation that poisons chosen children with NaN,
/// a sampler and an analysis that throw, a metric whose constructor throws, an assembly without any [Plugin] class, a plugin whose
/// dependency is missing, and a plugin built against a future Abstractions version.
/// </summary>
public sealed class FaultyPlugins : IDisposable
{
    private readonly TempDir _dir = new();

    public FaultyPlugins()
    {
        Root = _dir.Path;
        Project("Faulty", """
            using SubnetworkEnsembles.Abstractions;
            using static TorchSharp.torch;
            namespace Faulty;
            public sealed class PoisonOptions { public List<int> Children { get; init; } = []; }
            [Plugin("poison", PluginKind.Perturbation, OptionsType = typeof(PoisonOptions), Description = "prunes, and fills the weights of the listed children with NaN")]
            public sealed class Poison(PoisonOptions options) : IPerturbation
            {
                public void Apply(IReadOnlyList<IMaskableWeight> weights, ChildMask mask, PerturbationContext context)
                {
                    using var _ = no_grad();
                    foreach (var w in weights) { w.Mask = mask.Masks[w.Name]; w.FreezeMasked = true; w.Weight.mul_(w.Mask); }
                    if (options.Children.Contains(context.ChildIndex)) weights[0].Weight.fill_(float.NaN);
                }
            }
            [Plugin("broken-sampler", PluginKind.Sampler, Description = "throws")]
            public sealed class BrokenSampler : ISubnetworkSampler
            {
                public int SetSize => 1;
                public IReadOnlyList<ChildMask> SampleSet(IReadOnlyList<IMaskableWeight> weights, Generator generator) =>
                    throw new InvalidOperationException("the sampler's own bug");
            }
            [Plugin("broken-analysis", PluginKind.Analysis, Description = "throws")]
            public sealed class BrokenAnalysis : IAnalysis
            {
                public AnalysisOutput Run(AnalysisContext context) => throw new InvalidOperationException("the analysis's own bug");
            }
            [Plugin("broken-ctor", PluginKind.Metric, Description = "cannot be constructed")]
            public sealed class BrokenCtor : IMetric
            {
                public BrokenCtor() => throw new ArgumentException("constructor refuses");
                public IReadOnlyDictionary<string, double> Compute(MetricInput input) => new Dictionary<string, double>();
            }
            """);
        Project("Helper", "namespace Helper; public abstract class MetricBase { public static double Two => 2; }", library: true);
        Project("NeedsHelper", """
            using SubnetworkEnsembles.Abstractions;
            namespace NeedsHelper;
            [Plugin("needs-helper", PluginKind.Metric)]
            public sealed class NeedsHelperMetric : Helper.MetricBase, IMetric
            {
                public IReadOnlyDictionary<string, double> Compute(MetricInput input) => new Dictionary<string, double> { ["two"] = Two };
            }
            """, references: ["Helper"]);
        File.Delete(Path.Combine(Root, "plugins", "NeedsHelper", "Helper.dll"));   // the dependency is missing
        // Not a plugin at all, but in a plugin directory.
        Directory.CreateDirectory(Path.Combine(Root, "not-a-plugin", "Helper"));
        File.Copy(Path.Combine(Root, "plugins", "Helper", "Helper.dll"), Path.Combine(Root, "not-a-plugin", "Helper", "Helper.dll"));
        // A future contracts assembly (2.0.0) and a plugin built against it.
        Project("SubnetworkEnsembles.Abstractions", "namespace SubnetworkEnsembles.Abstractions; public static class Marker { public static int V => 2; }", library: true, version: "2.0.0");
        Project("Future", """
            namespace Future;
            public static class UsesV2 { public static int V => SubnetworkEnsembles.Abstractions.Marker.V; }
            """, references: ["SubnetworkEnsembles.Abstractions"], ownContracts: false);
        // The same plugins in a second assembly: duplicate names.
        Directory.CreateDirectory(Path.Combine(Root, "twice", "Faulty"));
        Directory.CreateDirectory(Path.Combine(Root, "twice", "FaultyCopy"));
        File.Copy(Path.Combine(Root, "plugins", "Faulty", "Faulty.dll"), Path.Combine(Root, "twice", "Faulty", "Faulty.dll"));
        File.Copy(Path.Combine(Root, "plugins", "Faulty", "Faulty.dll"), Path.Combine(Root, "twice", "FaultyCopy", "FaultyCopy.dll"));
    }

    public string Root { get; }

    public string Plugin(string name) => Path.Combine(Root, "plugins", name);

    private void Project(string name, string source, bool library = false, string[]? references = null, string version = "1.0.0", bool ownContracts = true) =>
        PluginProject.Build(Root, name, source, plugin: ownContracts && !library, references, version);

    public void Dispose() => _dir.Dispose();
}

public class PluginFaultTests(FaultyPlugins faulty) : IClassFixture<FaultyPlugins>
{
    private SneResult Run(string output, params string[] more) =>
        Sne.Run(["run", Repo.Example("spirals.yaml"), "--out", output, "--plugins", faulty.Plugin("Faulty"), "--set", "parent.epochs=3",
            "--set", "children.tuning.epochs=2", .. more]);

    [Trait("Category", "e2e")]
    [Fact]
    public void A_child_whose_training_diverges_is_recorded_as_failed_and_the_ensemble_is_evaluated_without_it()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        var result = Run(run, "--set", "children.perturbation={type: poison, children: [1]}");
        result.ExitCode.ShouldBe(0, result.Output);
        result.Stdout.ShouldContain("Child 2/4 failed: child 2/4: the training loss is NaN at step 1");
        result.Stdout.ShouldContain("The ensemble is evaluated without the failed child");
        var r = Sne.Results(run);
        var members = r["members"]!.AsArray();
        members.Count.ShouldBe(4);
        members[1]!["failed"]!.GetValue<string>().ShouldStartWith("TrainingDivergedException: child 2/4: the training loss is NaN");
        members[1]!["selected"]!.GetValue<bool>().ShouldBeFalse();
        r["ensemble"]!["members"]!.GetValue<int>().ShouldBe(4, "the parent and the 3 children that trained");
        r["ensemble"]!["member_indices"]!.AsArray().Select(n => n!.GetValue<int>()).ShouldBe([-1, 0, 2, 3]);
        r["ensemble"]!["excluded_failed"]!.AsArray().Select(n => n!.GetValue<int>()).ShouldBe([1]);
        double.IsFinite(r["ensemble"]!["nll"]!.GetValue<double>()).ShouldBeTrue();

        File.ReadAllText(Path.Combine(run, "children", "child-001.failed")).ShouldStartWith("TrainingDivergedException: child 2/4: the training loss is NaN");

        // Resuming keeps the diverged child as a finished (failed) unit rather than repeating it: killed before child 3,
        // the run continues past the failure without training child 2 again and ends with the uninterrupted numbers.
        string resumed = Path.Combine(dir.Path, "resumed");
        var killed = Sne.RunWithEnvironment(new Dictionary<string, string> { ["SNE_FAULT"] = "kill:child-start#3" },
            ["run", Repo.Example("spirals.yaml"), "--out", resumed, "--plugins", faulty.Plugin("Faulty"), "--set", "parent.epochs=3",
             "--set", "children.tuning.epochs=2", "--set", "children.perturbation={type: poison, children: [1]}"]);
        killed.ExitCode.ShouldBe(137, killed.Output);
        File.Exists(Path.Combine(resumed, "children", "child-001.failed")).ShouldBeTrue();
        var again = Run(resumed, "--set", "children.perturbation={type: poison, children: [1]}");
        again.ExitCode.ShouldBe(0, again.Output);
        again.Stdout.ShouldContain("Child 2/4: failed earlier (training diverged)", Case.Sensitive);
        again.Stdout.ShouldNotContain("Child 2/4 failed: child 2/4: the training loss is NaN", Case.Sensitive);   // not trained again
        Sne.DeterministicResults(resumed).ShouldBe(Sne.DeterministicResults(run));

        string strict = Path.Combine(dir.Path, "strict");
        var failFast = Run(strict, "--set", "children.perturbation={type: poison, children: [1]}", "--set", "fail_fast=true");
        failFast.ExitCode.ShouldBe(3, failFast.Output);
        failFast.Stderr.ShouldContain("the training loss is NaN");
        File.Exists(Path.Combine(strict, "results.json")).ShouldBeFalse();
        File.Exists(Path.Combine(strict, "children", "child-002.json")).ShouldBeFalse("fail_fast stops at the first failure");
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Exceptions_inside_plugins_name_the_plugin_and_its_assembly_with_exit_3_and_no_stack_trace()
    {
        using var dir = new TempDir();
        var sampler = Run(Path.Combine(dir.Path, "a"), "--set", "children.sampler={type: broken-sampler}");
        sampler.ExitCode.ShouldBe(3, sampler.Output);
        sampler.Stderr.ShouldContain("sampler 'broken-sampler' (Faulty.BrokenSampler in ");
        sampler.Stderr.ShouldContain("Faulty.dll) failed in SampleSet: the sampler's own bug");
        sampler.Stderr.ShouldNotContain("   at ");

        var ctor = Run(Path.Combine(dir.Path, "b"), "--set", "metrics=[accuracy, broken-ctor]");
        ctor.ExitCode.ShouldBe(3, ctor.Output);
        ctor.Stderr.ShouldContain("sne: error: metrics[1]: metric plugin 'broken-ctor' (Faulty.BrokenCtor in ");
        ctor.Stderr.ShouldContain("failed to construct: constructor refuses");
        ctor.Stderr.ShouldNotContain("   at ");
        Directory.Exists(Path.Combine(dir.Path, "b")).ShouldBeFalse("every plugin is constructed before the run directory is made and the parent trains");
        // sne validate constructs every configured plugin too.
        var validate = Sne.Run("validate", Repo.Example("spirals.yaml"), "--plugins", faulty.Plugin("Faulty"), "--set", "metrics=[accuracy, broken-ctor]");
        validate.ExitCode.ShouldBe(3, validate.Output);
        validate.Stderr.Trim().ShouldStartWith("sne: error: metrics[1]: metric plugin 'broken-ctor' (Faulty.BrokenCtor in ");
        validate.Stderr.Trim().Split('\n').Length.ShouldBe(1, validate.Stderr);
        var verbose = Run(Path.Combine(dir.Path, "c"), "--set", "metrics=[accuracy, broken-ctor]", "--verbose");
        verbose.Stderr.ShouldContain("   at ");   // the trace is there when asked for
    }

    [Trait("Category", "e2e")]
    [Theory]
    [InlineData("plugins/NeedsHelper", "NeedsHelper.dll has types that cannot be loaded (a missing dependency?)")]
    [InlineData("not-a-plugin", "Helper.dll contains no public class marked [Plugin(name, kind)]")]
    [InlineData("plugins/Future", "was built against SubnetworkEnsembles.Abstractions 2.0.0.0, but this sne provides 1.3.0.0")]
    [InlineData("twice", "'poison'")]
    public void Broken_plugin_directories_are_clear_errors_with_exit_3(string directory, string expected)
    {
        var result = Sne.Run("validate", Repo.Example("spirals.yaml"), "--plugins", Path.Combine(faulty.Root, directory));
        result.ExitCode.ShouldBe(3, result.Output);
        result.Stderr.ShouldContain(expected);
        result.Stderr.ShouldNotContain("   at ");
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void A_plugin_allowlist_refuses_any_assembly_whose_hash_it_does_not_list()
    {
        using var dir = new TempDir();
        var builtIn = Directory.GetFiles(Repo.PluginsDirectory, "*.dll", SearchOption.AllDirectories)
            .Where(f => Path.GetFileNameWithoutExtension(f) == Path.GetFileName(Path.GetDirectoryName(f))).ToList();
        string Hash(string f) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))).ToLowerInvariant();
        string allowlist = dir.File("allow.txt", "# sha256 of allowed plugin assemblies\n" + string.Join("\n", builtIn.Select(f => $"{Hash(f)}  {Path.GetFileName(f)}")) + "\n");
        var env = new Dictionary<string, string> { ["SNE_PLUGIN_ALLOWLIST"] = allowlist };

        Sne.RunWithEnvironment(env, "validate", Repo.Example("spirals.yaml")).ExitCode.ShouldBe(0);
        var refused = Sne.RunWithEnvironment(env, "validate", Repo.Example("spirals.yaml"), "--plugins", faulty.Plugin("Faulty"));
        refused.ExitCode.ShouldBe(3, refused.Output);
        refused.Stderr.ShouldContain($"Faulty.dll (sha256 {Hash(Path.Combine(faulty.Plugin("Faulty"), "Faulty.dll"))}) is not in the plugin allowlist {allowlist}");

        File.AppendAllText(allowlist, Hash(Path.Combine(faulty.Plugin("Faulty"), "Faulty.dll")) + "\n");
        Sne.RunWithEnvironment(env, "validate", Repo.Example("spirals.yaml"), "--plugins", faulty.Plugin("Faulty")).ExitCode.ShouldBe(0);

        var listed = Sne.Run("plugins", "--sha256");
        listed.ExitCode.ShouldBe(0, listed.Output);
        listed.Stdout.ShouldContain(Hash(builtIn[0]));
    }
    /// <summary>
    /// Analyses: configured, they run after the ensemble (results.json "analyses", analyses/NAME/*.png, the report);
    /// <c>sne analyze</c> adds more to the finished run without retraining, refuses an unknown analysis or another key
    /// in one line (exit 2), and an analysis that throws in one line naming it (exit 3) with results.json, the report and
    /// the figures of the analyses that ran before it untouched.
    /// </summary>
    [Trait("Category", "e2e")]
    [Fact]
    public void Analyses_run_after_the_ensemble_and_sne_analyze_adds_them_to_a_finished_run()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        var result = Run(run, "--set", "children.count=2", "--set", "analyses=[{type: smoothgrad, images: 4, samples: 3}]");
        result.ExitCode.ShouldBe(0, result.Output);
        var analyses = Sne.Results(run)["analyses"]!.AsArray();
        analyses.Select(a => a!["name"]!.GetValue<string>()).ShouldBe(["smoothgrad"]);
        analyses[0]!["tables"]![0]!["rows"]!.AsArray().Select(r => r!.GetValue<string>()).ShouldBe(["parent", "child 0", "child 1"]);
        File.Exists(Path.Combine(run, "analyses", "smoothgrad", "maps.png")).ShouldBeTrue();
        File.ReadAllText(Path.Combine(run, "report.md")).ShouldContain("](analyses/smoothgrad/maps.png)");

        var added = Sne.Run("analyze", run, "--set", "analyses=[{type: perceptual-hash, images: 4, samples: 3}]");
        added.ExitCode.ShouldBe(0, added.Output);
        Sne.Results(run)["analyses"]!.AsArray().Select(a => a!["name"]!.GetValue<string>()).ShouldBe(["smoothgrad", "perceptual-hash"]);
        Sne.Results(run)["plugins"]!.AsArray().Where(p => p!["kind"]!.GetValue<string>() == "analysis").Select(p => p!["name"]!.GetValue<string>())
            .ShouldBe(["smoothgrad", "perceptual-hash"]);
        File.ReadAllText(Path.Combine(run, "report.md")).ShouldContain("Analysis perceptual-hash: ahash");

        string results = File.ReadAllText(Path.Combine(run, "results.json")), report = File.ReadAllText(Path.Combine(run, "report.md"));
        var unknown = Sne.Run("analyze", run, "--set", "analyses=[smoothgrd]");
        unknown.ExitCode.ShouldBe(2, unknown.Output);
        unknown.Stderr.Trim().Split('\n').ShouldHaveSingleItem(unknown.Stderr).ShouldContain("unknown analysis 'smoothgrd' (did you mean 'smoothgrad'?)");
        var otherKey = Sne.Run("analyze", run, "--set", "seed=4");
        otherKey.ExitCode.ShouldBe(2, otherKey.Output);
        otherKey.Stderr.ShouldContain("sne analyze may set only analyses");
        byte[] maps = File.ReadAllBytes(Path.Combine(run, "analyses", "smoothgrad", "maps.png"));
        var broken = Sne.Run("analyze", run, "--plugins", faulty.Plugin("Faulty"), "--set", "analyses=[{type: smoothgrad, images: 2, samples: 2}, broken-analysis]");
        broken.ExitCode.ShouldBe(3, broken.Output);
        broken.Stderr.Trim().Split('\n').ShouldHaveSingleItem(broken.Stderr).ShouldContain("analysis 'broken-analysis'");
        broken.Stderr.ShouldContain("failed in Run: the analysis's own bug");
        File.ReadAllText(Path.Combine(run, "results.json")).ShouldBe(results);
        File.ReadAllText(Path.Combine(run, "report.md")).ShouldBe(report);
        File.ReadAllBytes(Path.Combine(run, "analyses", "smoothgrad", "maps.png")).ShouldBe(maps, "the analysis that succeeded before the failing one changes nothing");
        Directory.GetFileSystemEntries(Path.Combine(run, "analyses")).Select(Path.GetFileName).ShouldBe(["perceptual-hash", "smoothgrad"], ignoreOrder: true);
    }
}
