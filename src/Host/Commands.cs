using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Native;
using SubnetworkEnsembles.Host.Configuration;
using SubnetworkEnsembles.Host.Logging;
using SubnetworkEnsembles.Host.Sweeps;

namespace SubnetworkEnsembles.Host;

/// <summary>How console logs look: text lines for people, or JSON lines for log collectors.</summary>
public enum LogFormat
{
    /// <summary>"HH:mm:ss message".</summary>
    Text,
    /// <summary>One JSON object per line (Microsoft.Extensions.Logging's JSON console formatter).</summary>
    Json,
}

/// <summary>What the command line asked for.</summary>
public sealed record RunRequest(string ConfigPath, string? OutputDirectory, IReadOnlyList<string> Overrides,
    IReadOnlyList<string> PluginDirectories, bool Force, bool Verbose, Stage Stage = Stage.All, int? Index = null,
    long? Seed = null, bool Quiet = false, LogFormat LogFormat = LogFormat.Text, ProgressMode Progress = ProgressMode.Auto, double ProgressInterval = 30)
{
    /// <summary>Whether this run shows the live display: asked for, or (auto) text logs on an interactive terminal.</summary>
    public bool LiveProgress => !Quiet && LogFormat == LogFormat.Text && (Progress == ProgressMode.Live ||
        (Progress == ProgressMode.Auto && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive));

    /// <summary>The plugin catalogs discovered so far by this command (shared by the runs of a sweep or suite); a new, empty cache by default.</summary>
    public PluginCatalogCache Catalogs { get; init; } = new();

    /// <summary>--set values, then --seed (which wins).</summary>
    public IReadOnlyList<string> AllOverrides => Seed is long seed ? [.. Overrides, $"seed={seed}"] : Overrides;
}

/// <summary>
/// <c>sne run</c> and <c>sne validate</c> and the resolution of an experiment the other verbs (Verbs/) share. Each turns
/// user mistakes into one clear message on stderr and an exit code (<see cref="CommandErrors"/>), never a stack trace (unless --verbose).
/// </summary>
public static partial class Commands
{
    /// <summary>Plugin directories searched by default: the plugins built with sne, then $SNE_PLUGIN_PATH.</summary>
    public static IEnumerable<string> DefaultPluginDirectories()
    {
        string builtIn = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "plugins"));
        if (Directory.Exists(builtIn)) yield return builtIn;
        foreach (var d in (Environment.GetEnvironmentVariable("SNE_PLUGIN_PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            yield return d;
    }

    // The error mapping and console logging of run and validate (kept as they were called) live in their own classes.
    private static int Guard(bool verbose, Func<int> action) => CommandErrors.Guard(verbose, action);

    internal static ILoggerFactory ConsoleLoggerFactory(RunRequest request) => ConsoleLogging.CreateFactory(request);

    private static void ConfigureConsole(ILoggingBuilder logging, RunRequest request) => ConsoleLogging.Configure(logging, request);

    /// <summary><c>sne run</c>: validate everything, then train and evaluate into a run directory.</summary>
    public static int Run(RunRequest request, CancellationToken cancellation) =>
        Guard(request.Verbose, () => Execute(request, train: true, cancellation));

    /// <summary><c>sne validate</c>: everything short of training (YAML, plugins, options, data files).</summary>
    public static int Validate(RunRequest request) =>
        Guard(request.Verbose, () => Execute(request, train: false, CancellationToken.None));

    /// <summary>Reads, resolves and validates a configuration: YAML, plugins, options, device and data. Throws on any problem.</summary>
    internal static (ExperimentConfig Config, PluginCatalog Catalog, TorchSharp.torch.Device Device, DataSplits Data) Prepare(RunRequest request, ILogger log,
        SweepPoint? point = null)
    {
        var (config, catalog, device, binder) = ResolveWithSource(request, log, point);
        var data = Located(config, binder, () => Experiment.FromConfig(config).WithPlugins(catalog).LoadData());
        return (config, catalog, device, data);
    }

    /// <summary>Everything of <see cref="Prepare"/> but the data.</summary>
    internal static (ExperimentConfig Config, PluginCatalog Catalog, TorchSharp.torch.Device Device) Resolve(RunRequest request, ILogger log, SweepPoint? point = null)
    {
        var (config, catalog, device, _) = ResolveWithSource(request, log, point);
        return (config, catalog, device);
    }

    /// <summary>
    /// <paramref name="check"/>'s result; a <see cref="ConfigException"/> it throws with problems known only by key path
    /// (the library's checks of data and model) is rethrown with their file:line:column in the YAML.
    /// </summary>
    private static T Located<T>(ExperimentConfig config, ConfigBinder binder, Func<T> check)
    {
        try { return check(); }
        catch (ConfigException e) { throw ExperimentLoader.Locate(e, config, binder); }
    }

    /// <inheritdoc cref="Located{T}"/>
    private static void Located(ExperimentConfig config, ConfigBinder binder, Action check) =>
        Located(config, binder, () => { check(); return 0; });

    /// <summary><see cref="Resolve"/>, with the binder that knows where each key of the configuration was read.</summary>
    private static (ExperimentConfig Config, PluginCatalog Catalog, TorchSharp.torch.Device Device, ConfigBinder Binder) ResolveWithSource(RunRequest request,
        ILogger log, SweepPoint? point)
    {
        var (document, config, binder) = ExperimentLoader.Read(request.ConfigPath, request.AllOverrides, point?.Values);
        if (document.Sweep.Count > 0 && point is null && request.Stage != Stage.All)
            throw new UsageException($"{request.ConfigPath} is a sweep; --stage runs one experiment (run the sweep with 'sne run', or use --set for one point)");
        var configured = ExperimentLoader.PluginDirectories(document, config).ToList();
        for (int i = 0; i < configured.Count; i++)
            if (!Directory.Exists(configured[i]))
                throw new ConfigException((binder.LocationOf(config.Plugins, "Directories") ?? new ConfigLocation(request.ConfigPath, 0, 0, "")) with { KeyPath = $"plugins.directories[{i}]" },
                    $"plugin directory {configured[i]} does not exist");
        var directories = DefaultPluginDirectories().Concat(request.PluginDirectories).Concat(configured).ToList();
        var catalog = request.Catalogs.Get(directories, log);
        ExperimentLoader.Resolve(config, binder, catalog);
        // The resolved config names its plugin folders absolutely, so it can be run from any directory (e.g. by Slurm), and
        // keeps the --plugins folders too, so the stages, grow, predict and report of the run find the same plugins.
        var absolute = ExperimentLoader.PluginDirectories(document, config).Concat(request.PluginDirectories.Select(d => Path.GetFullPath(d))).Distinct().ToList();
        config.Plugins.Directories.Clear();
        config.Plugins.Directories.AddRange(absolute);
        if (config.Parent.Weights is { } weights)
        {
            config.Parent.Weights = Path.GetFullPath(weights, Path.GetDirectoryName(Path.GetFullPath(document.Path)) ?? ".");
            if (!File.Exists(config.Parent.Weights))
                throw new ConfigException((binder.LocationOf(config.Parent, "Weights") ?? new ConfigLocation(request.ConfigPath, 0, 0, "")) with { KeyPath = "parent.weights" },
                    Directory.Exists(config.Parent.Weights) ? $"{config.Parent.Weights} is a directory, expected a weights file" : $"file {config.Parent.Weights} not found");
        }
        var device = LibTorchRuntime.ResolveDevice(config.Device);
        config.Data.Root ??= Path.GetDirectoryName(Path.GetFullPath(document.Path));
        return (config, catalog, device, binder);
    }

    private static int Execute(RunRequest request, bool train, CancellationToken cancellation)
    {
        using var bootstrapLogging = ConsoleLoggerFactory(request);
        var log = bootstrapLogging.CreateLogger("sne");
        if (request.Stage != Stage.All && request.OutputDirectory is null)
            throw new UsageException($"--stage {request.Stage.ToString().ToLowerInvariant()} needs --out RUN_DIR, the run directory every stage shares");
        var (document, first, _) = ExperimentLoader.Read(request.ConfigPath, request.AllOverrides);
        if (document.Sweep.Count == 0) return ExecuteOne(request, train, null, request.OutputDirectory, log, false, cancellation).ExitCode;
        return SweepRunner.Run(request, train, first.Name, document.Sweep, log, cancellation);
    }

    /// <summary>
    /// Validates, or runs, one experiment (one sweep point when <paramref name="point"/> is given) into
    /// <paramref name="outputDirectory"/>. With <paramref name="keepFinished"/> (sweeps, benchmark suites) a run directory
    /// that already finished with the same resolved configuration is kept as it is, before any data is loaded.
    /// </summary>
    internal static (int ExitCode, string? RunDirectory) ExecuteOne(RunRequest request, bool train, SweepPoint? point, string? outputDirectory,
        ILogger log, bool keepFinished, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        int index = ResolveIndex(request);
        var (config, catalog, device, binder) = ResolveWithSource(request, log, point);
        string resolved = ResolvedConfigWriter.ToYaml(config);
        if (train && keepFinished && !request.Force && outputDirectory is not null && RunDirectory.IsFinished(outputDirectory, resolved))
        {
            if (point is { Values.Count: > 0 }) log.LogInformation("Sweep point {Index}: done earlier ({Directory})", point.Index, outputDirectory);
            else log.LogInformation("{Directory}: done earlier", outputDirectory);
            return (ExitCodes.Ok, Path.GetFullPath(outputDirectory));
        }
        ConstructAll(config, catalog);
        var faults = Diagnostics.EnvironmentFaultPoints.ForThisProcess;   // SNE_FAULT, for the resilience tests
        var experiment = Experiment.FromConfig(config).WithPlugins(catalog).WithFaults(faults);
        using var data = Located(config, binder, experiment.LoadData);
        double dataSeconds = clock.Elapsed.TotalSeconds;
        Located(config, binder, () => experiment.CheckModelFitsData(data));
        experiment.CheckParentWeights(data);
        if (!train)
        {
            Console.WriteLine($"{request.ConfigPath}{point?.Suffix}: valid ({data.Name}: {data.Train.Count} train, {data.Validation.Count} validation, {data.Test.Count} test rows; " +
                $"{catalog.All.Count} plugins available)");
            return (ExitCodes.Ok, null);
        }

        var (run, resumed) = experiment.OpenRun(outputDirectory ?? Path.Combine("runs", $"{config.Name}-{DateTime.Now:yyyyMMdd-HHmmss}"), request.Stage,
            request.Force, $"{request.ConfigPath} (with the given --set values)");
        string logFile = request.Stage switch
        {
            Stage.Child => run.Combine("children", $"child-{index:D3}.log"),
            Stage.Ensemble => run.Combine("ensemble.log"),
            _ => run.LogFile,
        };
        if (request.Stage is Stage.All or Stage.Parent && Path.GetFullPath(request.ConfigPath) != run.Combine("config.yaml"))
            RunDirectory.WriteAtomic(run.Combine("config.original.yaml"), tmp => File.Copy(request.ConfigPath, tmp, overwrite: true), faults);

        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = [],
            ContentRootPath = Directory.GetCurrentDirectory(),
        });
        builder.Logging.ClearProviders();
        if (request.LiveProgress) builder.Logging.AddProvider(new Progress.SpectreLoggerProvider(request.Verbose ? LogLevel.Debug : LogLevel.Information));
        else ConfigureConsole(builder.Logging, request);
        builder.Logging.AddProvider(new FileLoggerProvider(logFile));
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        using var host = builder.Build();
        host.Start();
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, lifetime.ApplicationStopping);
        if (faults is Diagnostics.EnvironmentFaultPoints armed) armed.ObserveStopping(linked.Token);
        var loggers = host.Services.GetRequiredService<ILoggerFactory>();
        var logger = loggers.CreateLogger<ExperimentRunner>();
        logger.LogInformation("{Verb} {Name} (seed {Seed}), stage {Stage}{Index} → {Directory}", resumed ? "Resuming" : "Run", config.Name, config.Seed,
            request.Stage.ToString().ToLowerInvariant(), request.Stage == Stage.Child ? $" {index}" : "", run.Path);
        try
        {
            var factory = new PluginFactory(host.Services, catalog);
            experiment = experiment.WithLogging(loggers).WithReport((c, d, r, results) => Reporting.RunReport.Write(r, results, c.SavePredictions,
                RunScoring.Create(c, factory), file => Reporting.DecisionBoundaryGrid.Draw(file, c, d, r, factory, catalog), faults).Select(f => f.File).ToList());
            if (request.LiveProgress)
            {
                AnsiConsole.Progress().AutoClear(false)
                    .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(),
                        new PercentageColumn(), new SpinnerColumn())
                    .Start(context =>
                    {
                        var live = new Progress.LiveProgress(context, config.Children.Count);
                        experiment.RunStage(request.Stage, index, run, data, dataSeconds, live, linked.Token);
                        live.Complete();
                    });
            }
            else
            {
                experiment.RunStage(request.Stage, index, run, data, dataSeconds,
                    new Progress.PlainProgress(logger, TimeSpan.FromSeconds(request.ProgressInterval)), linked.Token);
            }
            if (request.Stage is Stage.All or Stage.Ensemble)
                logger.LogInformation("Results: {File} ({Seconds:F1} s)", run.ResultsFile, clock.Elapsed.TotalSeconds);
            return (ExitCodes.Ok, run.Path);
        }
        catch (OperationCanceledException)
        {
            logger.LogWarning("Interrupted; progress is saved. Continue with: sne run {Config} --out {Directory}", request.ConfigPath,
                point is null ? run.Path : Path.GetDirectoryName(run.Path));
            return (ExitCodes.Interrupted, run.Path);
        }
        finally
        {
            host.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// Constructs (and disposes) every configured plugin once, and computes the metrics on a synthetic input, so a throwing
    /// constructor or two metrics with one key stop validate and run before any data or training (exit 3).
    /// </summary>
    private static void ConstructAll(ExperimentConfig config, PluginCatalog catalog)
    {
        using var services = new ServiceCollection().AddLogging().AddSubnetworkPlugins(catalog).BuildServiceProvider();
        var plugins = services.GetRequiredService<PluginFactory>();
        plugins.ConstructAll(config);
        MemberEvaluation.CheckDistinctKeys(config.Metrics.Select(m => (m.Type, plugins.Create<Abstractions.IMetric>(m))).ToList());
    }

    /// <summary>The child index: --index, else $SLURM_ARRAY_TASK_ID (Slurm job arrays), else $JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs).</summary>
    private static int ResolveIndex(RunRequest request)
    {
        if (request.Stage != Stage.Child) return -1;
        if (request.Index is int i) return i;
        foreach (var variable in new[] { "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX" })
        {
            string? value = Environment.GetEnvironmentVariable(variable);
            if (value is null) continue;
            if (int.TryParse(value, out int parsed) && parsed >= 0) return parsed;
            throw new UsageException($"${variable} is '{value}', expected a child index ≥ 0");
        }
        throw new UsageException("--stage child needs --index I (or $SLURM_ARRAY_TASK_ID / $JOB_COMPLETION_INDEX)");
    }
}
