using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Native;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Experiments.Configuration;
using SubnetworkEnsembles.Experiments.Diagnostics;
using SubnetworkEnsembles.Experiments.Pipeline;
using SubnetworkEnsembles.Experiments.Plugins;
using SubnetworkEnsembles.Experiments.Results;

namespace SubnetworkEnsembles.Experiments;

/// <summary>
/// One Subnetwork Ensemble experiment, run from .NET code:
/// <code>
/// var catalog = new PluginCatalog().RegisterAssembly(typeof(PartitionSampler).Assembly).Register&lt;MyMetric&gt;();
/// var results = await Experiment.FromConfig(config).WithPlugins(catalog).RunAsync("runs/mine", progress, ct);
/// </code>
/// The run directory it writes is the one <c>sne run</c> writes (config.yaml, parent, children, predictions,
/// results.json), so <c>sne status / report / grow / predict</c> work on it, and an unfinished one is resumed.
/// For distributed runs the three stages have their own entry points (<see cref="RunParentAsync"/>,
/// <see cref="RunChildAsync"/>, <see cref="RunEnsembleAsync"/>), which communicate only through the run directory.
/// Instances are immutable: each <c>With…</c> returns a new one.
/// </summary>
public sealed class Experiment
{
    private PluginCatalog? _catalog;
    private ILoggerFactory _loggers;
    private IFaultPoints _faults;
    private Func<ExperimentConfig, DataSplits, RunDirectory, ExperimentResults, IReadOnlyList<string>>? _reporter;

    private Experiment(ExperimentConfig config, PluginCatalog? catalog, ILoggerFactory loggers,
        Func<ExperimentConfig, DataSplits, RunDirectory, ExperimentResults, IReadOnlyList<string>>? reporter, IFaultPoints faults)
    {
        _faults = faults;
        Config = config;
        _catalog = catalog;
        _loggers = loggers;
        _reporter = reporter;
    }

    /// <summary>The experiment's configuration.</summary>
    public ExperimentConfig Config { get; }

    /// <summary>An experiment of <paramref name="config"/> (made in code, or read by a host); give it plugins with <see cref="WithPlugins"/>.</summary>
    public static Experiment FromConfig(ExperimentConfig config) =>
        new(config ?? throw new ArgumentNullException(nameof(config)), null, NullLoggerFactory.Instance, null, NoFaultPoints.Instance);

    /// <summary>The plugins the configuration's names resolve to (discovered from folders and/or registered in process).</summary>
    public Experiment WithPlugins(PluginCatalog catalog) => With(e => e._catalog = catalog);

    /// <summary>Where the pipeline and the plugins log (plugins receive <c>ILogger&lt;T&gt;</c> from it); none by default.</summary>
    public Experiment WithLogging(ILoggerFactory loggers) => With(e => e._loggers = loggers);

    /// <summary>
    /// A report writer called when the ensemble is evaluated, before results.json is written; it returns the names of the
    /// figures it drew. None by default (the <c>sne</c> host draws report.md, report.html and figures).
    /// </summary>
    public Experiment WithReport(Func<ExperimentConfig, DataSplits, RunDirectory, ExperimentResults, IReadOnlyList<string>> reporter) =>
        With(e => e._reporter = reporter);

    /// <summary>Fault points a test fires at exact places of the pipeline (kill, signal, full disk); none by default.</summary>
    public Experiment WithFaults(IFaultPoints faults) => With(e => e._faults = faults);

    private Experiment With(Action<Experiment> change)
    {
        var copy = (Experiment)MemberwiseClone();
        change(copy);
        return copy;
    }

    /// <summary>
    /// Loads the experiment's data through its dataset plugin and prepares it (validation carved, subsets, normalised;
    /// see <see cref="ExperimentData"/>). Throws <see cref="ConfigException"/> when a configured option needs image data
    /// (corruptions, augmentation) and the dataset has none.
    /// </summary>
    public DataSplits LoadData()
    {
        var data = ExperimentData.Load(Plugins(), Config.Data, Config.Data.Root ?? Environment.CurrentDirectory, Config.Seed);
        var imageOnly = new List<string>();
        if (Config.Corruptions is not null) imageOnly.Add("corruptions");
        if (Config.Data.Augment is not null) imageOnly.Add("data.augment");
        if (!data.IsImage && imageOnly.Count > 0)
        {
            data.Dispose();
            throw new ConfigException(imageOnly.Select(key => new ConfigProblem(ConfigLocation.OfKey(key),
                $"applies to images [C, H, W]; dataset '{Config.Data.Dataset.Type}' has samples of shape [{string.Join(", ", data.InputShape)}]")).ToList());
        }
        return data;
    }

    /// <summary>A plugin factory over this experiment's catalog (no logging services beyond the experiment's own).</summary>
    public PluginFactory Plugins()
    {
        var services = new ServiceCollection();
        services.AddSingleton(_loggers);
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        services.AddSubnetworkPlugins(Catalog);
        return services.BuildServiceProvider().GetRequiredService<PluginFactory>();
    }

    /// <summary>
    /// Resolves the configuration against the plugins: kinds, names, options (defaults where none are given) and the
    /// experiment's rules. Throws <see cref="ConfigException"/> (exit code 2) listing every problem; trains nothing.
    /// <see cref="RunAsync"/> and the stage entry points call it; a host that resolved the configuration itself (with
    /// file and line positions) and calls <see cref="RunStage"/> need not.
    /// </summary>
    public Experiment Validate()
    {
        PluginResolution.Resolve(Config, Catalog);
        return this;
    }

    /// <summary>The resolved configuration as the YAML of a run directory's config.yaml (also what identifies a run on resume).</summary>
    public string ConfigText => ResolvedConfigWriter.ToYaml(Config);

    /// <summary>Runs every stage into <paramref name="directory"/> (created, or resumed when it holds an unfinished run of the same configuration).</summary>
    public Task<ExperimentResults> RunAsync(string directory, IProgress<StepReport>? progress = null, CancellationToken cancellation = default) =>
        Task.Run(() => RunInDirectory(Stage.All, 0, directory, progress, cancellation)!, cancellation);

    /// <summary>Stage 1 only: trains and evaluates the parent into <paramref name="directory"/> (created or resumed).</summary>
    public Task RunParentAsync(string directory, IProgress<StepReport>? progress = null, CancellationToken cancellation = default) =>
        Task.Run(() => RunInDirectory(Stage.Parent, 0, directory, progress, cancellation), cancellation);

    /// <summary>Stage 2 only: makes child <paramref name="index"/> from the parent saved in <paramref name="directory"/>.</summary>
    public Task RunChildAsync(string directory, int index, IProgress<StepReport>? progress = null, CancellationToken cancellation = default) =>
        Task.Run(() => RunInDirectory(Stage.Child, index, directory, progress, cancellation), cancellation);

    /// <summary>Stage 3 only: gathers the children of <paramref name="directory"/>, selects, combines and evaluates; returns its typed results (results.json).</summary>
    public Task<ExperimentResults> RunEnsembleAsync(string directory, CancellationToken cancellation = default) =>
        Task.Run(() => RunInDirectory(Stage.Ensemble, 0, directory, null, cancellation)!, cancellation);

    private ExperimentResults? RunInDirectory(Stage stage, int index, string directory, IProgress<StepReport>? progress, CancellationToken cancellation)
    {
        Validate();
        var clock = Stopwatch.StartNew();
        using var data = LoadData();
        double dataSeconds = clock.Elapsed.TotalSeconds;
        if (stage is Stage.All or Stage.Parent)
        {
            CheckModelFitsData(data);
            CheckParentWeights(data);
        }
        var (run, _) = OpenRun(directory, stage, force: false);
        return RunStage(stage, index, run, data, dataSeconds, progress, cancellation);
    }

    /// <summary>
    /// Before a run directory exists: builds the model for the data (a shape the architecture cannot take throws
    /// <see cref="ModelDoesNotFitException"/>, a network that breaks the model contract <see cref="Engine.Models.ModelContractException"/>),
    /// and checks that mc_dropout has dropout layers to sample.
    /// </summary>
    public void CheckModelFitsData(DataSplits data)
    {
        using var model = Plugins().Build(Config.Model, data.InputShape, data.Classes, Abstractions.Seeds.Generator(Config.Seed, "parent-init"));
        if (Config.McDropout > 0 && !model.HasDropout)
            throw new ConfigException(ConfigLocation.OfKey("mc_dropout"), $"Monte-Carlo dropout needs dropout in the model: model '{Config.Model.Type}' has none (set its dropout option, e.g. dropout: 0.2)");
    }

    /// <summary>
    /// Before a run directory exists: parent weights that are not what their extension says, or do not fit the model,
    /// throw <see cref="ParentWeightsException"/> and create nothing.
    /// </summary>
    public void CheckParentWeights(DataSplits data)
    {
        if (Config.Parent.Weights is not { } file) return;
        using var model = Plugins().Build(Config.Model, data.InputShape, data.Classes, Abstractions.Seeds.Generator(Config.Seed, "parent-init"));
        ParentWeights.Load(model, file, Config.Parent.Rename);
    }

    /// <summary>
    /// The run directory of <paramref name="stage"/>: the whole run and the parent stage create it or resume it (a
    /// finished one is replaced only with <paramref name="force"/>) and write config.yaml; the child and ensemble stages
    /// open an existing one whose config.yaml must be this configuration.
    /// </summary>
    public (RunDirectory Run, bool Resumed) OpenRun(string directory, Stage stage, bool force, string configSource = "this configuration")
    {
        string text = ConfigText;
        if (stage is Stage.All or Stage.Parent)
        {
            var (run, resumed) = RunDirectory.CreateOrResume(directory, text, force);
            RunDirectory.WriteAllTextAtomic(run.ConfigFile, text, _faults);
            return (run, resumed);
        }
        var existing = RunDirectory.Open(directory);
        if (!File.Exists(existing.ConfigFile) || File.ReadAllText(existing.ConfigFile) != text)
            throw new UsageException($"{configSource} is not the configuration of {existing.Path} (its config.yaml); " +
                "run every stage with the same configuration, e.g. RUN_DIR/config.yaml");
        return (existing, true);
    }

    /// <summary>
    /// Runs <paramref name="stage"/> (child <paramref name="index"/> for <see cref="Stage.Child"/>) on data already
    /// loaded, in a run directory already opened (<see cref="OpenRun"/>); returns the typed results (results.json) after
    /// the ensemble stage. Cancellation stops at the next training step with the resume point saved.
    /// </summary>
    public ExperimentResults? RunStage(Stage stage, int index, RunDirectory run, DataSplits data, double dataSeconds,
        IProgress<StepReport>? progress, CancellationToken cancellation)
    {
        var device = LibTorchRuntime.ResolveDevice(Config.Device);
        var services = new ServiceCollection();
        services.AddSingleton(_loggers);
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        services.AddSubnetworkPlugins(Catalog);
        services.AddSingleton<ExperimentRunner>();
        using var provider = services.BuildServiceProvider();
        var runner = provider.GetRequiredService<ExperimentRunner>();
        runner.Progress = progress;
        runner.Reporter = _reporter;
        runner.Faults = _faults;
        return runner.Run(stage, index, Config, data, device, run, dataSeconds, cancellation);
    }

    private PluginCatalog Catalog => _catalog ?? throw new InvalidOperationException("give the experiment its plugins first: Experiment.FromConfig(config).WithPlugins(catalog)");
}
