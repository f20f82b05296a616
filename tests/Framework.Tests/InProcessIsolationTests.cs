using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Shouldly;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Experiments.Pipeline;
using SubnetworkEnsembles.Experiments.Plugins;
using SubnetworkEnsembles.Host.Configuration;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// The library keeps no process-wide state: two experiments run in one process — one after the other, stage by stage
/// interleaved, and at the same time on two threads — give every member's predictions and the ensemble's numbers
/// exactly as each gives when run alone by the sne process.
/// </summary>
public class InProcessIsolationTests
{
    // A: spirals, partition children. B: another seed, dropout in training and MC dropout, noise children from scratch.
    private const string A = """
        extends: BASE
        name: iso-a
        seed: 0
        parent: { epochs: 3 }
        children: { count: 2, tuning: { epochs: 2 } }
        """;
    private const string B = """
        extends: BASE
        name: iso-b
        seed: 7
        model: { type: mlp, hidden: [32, 32], dropout: 0.2 }
        mc_dropout: 4
        parent: { epochs: 2 }
        children: { count: 2, start: scratch, sampler: full, perturbation: identity, tuning: { epochs: 2 } }
        """;

    private sealed class Experiment(string name, ExperimentConfig config, string resolved, DataSplits data, ExperimentRunner runner) : IDisposable
    {
        public string Name => name;
        public ExperimentConfig Config => config;

        public RunDirectory Open(string root) => RunDirectory.CreateOrResume(Path.Combine(root, name), resolved, force: false).Run;

        public void Stage(Stage stage, RunDirectory run, int index = -1) =>
            runner.Run(stage, index, config, data, TorchSharp.torch.CPU, run, 0, CancellationToken.None);

        public void Dispose() => data.Dispose();
    }

    private static Experiment Load(string file, PluginCatalog catalog, IServiceProvider services)
    {
        var (_, config, binder) = ExperimentLoader.Read(file, [], environment: new Dictionary<string, string>());
        ExperimentLoader.Resolve(config, binder, catalog);
        var runner = new ExperimentRunner(services.GetRequiredService<PluginFactory>(), NullLogger<ExperimentRunner>.Instance);
        return new Experiment(Path.GetFileNameWithoutExtension(file), config, ResolvedConfigWriter.ToYaml(config),
            ExperimentData.Load(services.GetRequiredService<PluginFactory>(), config.Data, Environment.CurrentDirectory), runner);
    }

    private static void ShouldEqualAlone(string run, string alone, string how)
    {
        Sne.DeterministicResults(run).ShouldBe(Sne.DeterministicResults(alone), $"{how}: results.json");
        foreach (var file in new[] { "members.npy", "parent.npy", "labels.npy" })
            File.ReadAllBytes(Path.Combine(run, "predictions", file)).ShouldBe(File.ReadAllBytes(Path.Combine(alone, "predictions", file)), $"{how}: predictions/{file}");
    }

    [Trait("Category", "e2e")]
    [Fact]
    public async Task Two_experiments_in_one_process_give_the_numbers_each_gives_alone()
    {
        using var dir = new TempDir();
        string spirals = File.ReadAllText(Repo.Example("spirals.yaml"));
        dir.File("base.yaml", spirals);
        string a = dir.File("a.yaml", A.Replace("BASE", "base.yaml")), b = dir.File("b.yaml", B.Replace("BASE", "base.yaml"));
        var alone = new Dictionary<string, string>();
        foreach (var (name, file) in new[] { ("a", a), ("b", b) })
        {
            alone[name] = Path.Combine(dir.Path, "alone-" + name);
            var result = Sne.Run("run", file, "--out", alone[name], "--quiet");
            result.ExitCode.ShouldBe(0, result.Stderr);
        }
        Sne.DeterministicResults(alone["a"]).ShouldNotBe(Sne.DeterministicResults(alone["b"]));

        var catalog = PluginCatalog.Discover([Repo.PluginsDirectory], NullLogger.Instance);
        using var services = new ServiceCollection().AddLogging().AddSubnetworkPlugins(catalog).BuildServiceProvider();
        using var expA = Load(a, catalog, services);
        using var expB = Load(b, catalog, services);
        Experiment[] both = [expA, expB];

        // One after the other.
        string sequential = Path.Combine(dir.Path, "sequential");
        foreach (var e in both) e.Stage(Stage.All, e.Open(sequential));
        foreach (var e in both) ShouldEqualAlone(Path.Combine(sequential, e.Name), alone[e.Name], $"{e.Name} run after the other");

        // Stage by stage, interleaved: parent A, parent B, child 0 of A, child 0 of B, …, ensemble A, ensemble B.
        string interleaved = Path.Combine(dir.Path, "interleaved");
        var runs = both.Select(e => e.Open(interleaved)).ToArray();
        for (int i = 0; i < 2; i++) both[i].Stage(Stage.Parent, runs[i]);
        for (int child = 0; child < 2; child++)
            for (int i = 0; i < 2; i++) both[i].Stage(Stage.Child, runs[i], child);
        for (int i = 0; i < 2; i++) both[i].Stage(Stage.Ensemble, runs[i]);
        foreach (var e in both) ShouldEqualAlone(Path.Combine(interleaved, e.Name), alone[e.Name], $"{e.Name} interleaved stage by stage");

        // At the same time, on two threads.
        string concurrent = Path.Combine(dir.Path, "concurrent");
        await Task.WhenAll(both.Select(e => Task.Factory.StartNew(() => e.Stage(Stage.All, e.Open(concurrent)), TaskCreationOptions.LongRunning)));
        foreach (var e in both) ShouldEqualAlone(Path.Combine(concurrent, e.Name), alone[e.Name], $"{e.Name} on two threads at once");
    }
}
