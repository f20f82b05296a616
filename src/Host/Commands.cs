using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Native;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Host.Configuration;
using SubnetworkEnsembles.Host.Logging;
using SubnetworkEnsembles.Experiments.Pipeline;
using SubnetworkEnsembles.Experiments.Plugins;
using SubnetworkEnsembles.Host.Sweeps;
using Spectre.Console;

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

    /// <summary>--set values, then --seed (which wins).</summary>
    public IReadOnlyList<string> AllOverrides => Seed is long seed ? [.. Overrides, $"seed={seed}"] : Overrides;
}

/// <summary>
/// The commands of <c>sne</c>. Each turns user mistakes into one clear message on stderr and an exit code
/// (<see cref="ExitCodes"/>), never a stack trace (unless --verbose).
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

    private static readonly Dictionary<string, PluginCatalog> Catalogs = [];

    /// <summary>
    /// The plugins in <paramref name="directories"/>, discovered once per process: a sweep resolves every point twice
    /// (validation, then its run) and must not load the same assemblies into new contexts each time.
    /// </summary>
    private static PluginCatalog Catalog(IReadOnlyList<string> directories, ILogger log)
    {
        string key = string.Join('\n', directories.Select(Path.GetFullPath).Distinct()) + "\0" + Environment.GetEnvironmentVariable(PluginCatalog.AllowlistVariable);
        if (!Catalogs.TryGetValue(key, out var catalog)) Catalogs[key] = catalog = PluginCatalog.Discover(directories, log);
        return catalog;
    }

    /// <summary><c>sne run</c>: validate everything, then train and evaluate into a run directory.</summary>
    public static int Run(RunRequest request, CancellationToken cancellation) =>
        Guard(request.Verbose, () => Execute(request, train: true, cancellation));

    /// <summary><c>sne validate</c>: everything short of training (YAML, plugins, options, data files).</summary>
    public static int Validate(RunRequest request) =>
        Guard(request.Verbose, () => Execute(request, train: false, CancellationToken.None));

    /// <summary>
    /// <c>sne plugins [KIND] [PATTERN]</c>: every plugin (of one kind, whose name matches a glob or contains the
    /// pattern) with kind, name, description and assembly, then each option with its default and doc text.
    /// </summary>
    public static int ListPlugins(string? kind, string? pattern, IReadOnlyList<string> extraDirectories, bool verbose, bool sha256 = false) => Guard(verbose, () =>
    {
        if (sha256)
        {
            // In the allowlist's format: hash, two spaces, path.
            foreach (var (path, hash) in PluginCatalog.Hashes(DefaultPluginDirectories().Concat(extraDirectories))) Console.WriteLine($"{hash}  {path}");
            return ExitCodes.Ok;
        }
        Abstractions.PluginKind? wanted = null;
        if (kind is not null)
        {
            var kinds = Enum.GetValues<Abstractions.PluginKind>();
            wanted = kinds.Cast<Abstractions.PluginKind?>().FirstOrDefault(k => string.Equals(k.ToString(), kind.TrimEnd('s'), StringComparison.OrdinalIgnoreCase)
                || string.Equals(k.ToString(), kind, StringComparison.OrdinalIgnoreCase))
                ?? throw new UsageException($"unknown plugin kind '{kind}'; kinds: {string.Join(", ", kinds.Select(k => k.ToString().ToLowerInvariant()))}");
        }
        using var loggerFactory = ConsoleLoggerFactory(new RunRequest("", null, [], [], false, verbose));
        var catalog = PluginCatalog.Discover(DefaultPluginDirectories().Concat(extraDirectories), loggerFactory.CreateLogger("sne"));
        var match = pattern is null ? null : ChildBuilder.Glob(pattern.Contains('*') || pattern.Contains('?') ? pattern : $"*{pattern}*");
        var shown = catalog.All.Where(d => (wanted is null || d.Kind == wanted) && (match is null || match.IsMatch(d.Name))).ToList();
        if (shown.Count == 0)
            throw new UsageException($"no {(wanted is null ? "" : wanted.ToString()!.ToLowerInvariant() + " ")}plugin matches '{pattern}'; " +
                $"known: {string.Join(", ", catalog.All.Where(d => wanted is null || d.Kind == wanted).Select(d => d.Name))}");
        var documentation = new PluginDocumentation();
        foreach (var d in shown)
        {
            Console.WriteLine($"{d.Kind.ToString().ToLowerInvariant(),-13} {d.Name,-16} {d.Description}  [{Path.GetFileName(d.AssemblyPath)}]");
            if (d.OptionsType is null) continue;
            var defaults = Activator.CreateInstance(d.OptionsType);
            foreach (var p in d.OptionsType.GetProperties().Where(p => p.CanWrite))
            {
                string doc = documentation.Summary(d.OptionsType, p.Name);
                Console.WriteLine($"{"",30}{ConfigNames.Key(p.Name)}: {FormatDefault(p.GetValue(defaults))}{(doc.Length > 0 ? "  — " + doc : "")}");
            }
        }
        return ExitCodes.Ok;
    });

    /// <summary>Reads, resolves and validates a configuration: YAML, plugins, options, device and data. Throws on any problem.</summary>
    internal static (ExperimentConfig Config, PluginCatalog Catalog, TorchSharp.torch.Device Device, DataSplits Data) Prepare(RunRequest request, ILogger log,
        SweepPoint? point = null)
    {
        var (config, catalog, device) = Resolve(request, log, point);
        var data = DatasetLoader.Load(config.Data);
        return (config, catalog, device, data);
    }

    /// <summary>Everything of <see cref="Prepare"/> but the data.</summary>
    internal static (ExperimentConfig Config, PluginCatalog Catalog, TorchSharp.torch.Device Device) Resolve(RunRequest request, ILogger log, SweepPoint? point = null)
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
        var catalog = Catalog(directories, log);
        ExperimentLoader.Resolve(config, binder, catalog);
        // The resolved config names its plugin folders absolutely, so it can be run from any directory (e.g. by Slurm).
        var absolute = ExperimentLoader.PluginDirectories(document, config).ToList();
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
        CheckModelFitsData(config, binder);
        return (config, catalog, device);
    }

    /// <summary>Builds the model and runs two dummy rows through it, so an architecture that does not fit the data's input shape is a configuration error before anything trains.</summary>
    private static void CheckModelFitsData(ExperimentConfig config, ConfigBinder binder)
    {
        var (shape, classes) = DatasetLoader.ShapeOf(config.Data);
        try
        {
            using var scope = TorchSharp.torch.NewDisposeScope();
            using var model = config.Model.Build(shape, classes, SubnetworkEnsembles.Abstractions.Seeds.Generator(config.Seed, "parent-init"));
            var output = model.call(TorchSharp.torch.zeros([2, .. shape]));
            if (output.shape.Length != 2 || output.shape[1] != classes)
                throw new InvalidOperationException($"it outputs [{string.Join(", ", output.shape)}], expected [N, {classes}]");
        }
        catch (Exception e) when (e is not ConfigException)
        {
            var where = (binder.LocationOf(config.Model, "Type") ?? binder.LocationOf(config.Model) ?? new ConfigLocation(binder.Source, 0, 0, "")) with { KeyPath = "model" };
            throw new ConfigException(where, $"the {ConfigNames.EnumValue(config.Model.Type)} model does not fit the data ({ConfigNames.EnumValue(config.Data.Dataset)}: " +
                $"inputs [{string.Join("×", shape)}], {classes} classes): {e.Message}");
        }
    }

    private static int Execute(RunRequest request, bool train, CancellationToken cancellation)
    {
        using var bootstrapLogging = ConsoleLoggerFactory(request);
        var log = bootstrapLogging.CreateLogger("sne");
        if (request.Stage != Stage.All && request.OutputDirectory is null)
            throw new UsageException($"--stage {request.Stage.ToString().ToLowerInvariant()} needs --out RUN_DIR, the run directory every stage shares");
        var (document, first, _) = ExperimentLoader.Read(request.ConfigPath, request.AllOverrides);
        if (document.Sweep.Count == 0) return ExecuteOne(request, train, null, request.OutputDirectory, cancellation, log).ExitCode;
        return SweepRunner.Run(request, train, first.Name, document.Sweep, log, cancellation);
    }

    /// <summary>
    /// Validates, or runs, one experiment (one sweep point when <paramref name="point"/> is given) into
    /// <paramref name="outputDirectory"/>. With <paramref name="keepFinished"/> (sweeps, benchmark suites) a run directory
    /// that already finished with the same resolved configuration is kept as it is, before any data is loaded.
    /// </summary>
    internal static (int ExitCode, string? RunDirectory) ExecuteOne(RunRequest request, bool train, SweepPoint? point, string? outputDirectory,
        CancellationToken cancellation, ILogger log, bool keepFinished = false)
    {
        var clock = Stopwatch.StartNew();
        var faults = Diagnostics.EnvironmentFaultPoints.ForThisProcess;   // SNE_FAULT, for the resilience tests
        int index = ResolveIndex(request);
        var (config, catalog, device) = Resolve(request, log, point);
        string resolved = ResolvedConfigWriter.ToYaml(config);
        if (train && keepFinished && !request.Force && outputDirectory is not null && RunDirectory.IsFinished(outputDirectory, resolved))
        {
            if (point is { Values.Count: > 0 }) log.LogInformation("Sweep point {Index}: done earlier ({Directory})", point.Index, outputDirectory);
            else log.LogInformation("{Directory}: done earlier", outputDirectory);
            return (ExitCodes.Ok, Path.GetFullPath(outputDirectory));
        }
        using var data = DatasetLoader.Load(config.Data);
        double dataSeconds = clock.Elapsed.TotalSeconds;
        if (config.Parent.Weights is { } weightsFile)
        {
            // Before a run directory exists: weights that are not what their extension says create nothing.
            using var model = config.Model.Build(data.InputShape, data.Classes, SubnetworkEnsembles.Abstractions.Seeds.Generator(config.Seed, "parent-init"));
            ParentWeights.Load(model, weightsFile, config.Parent.Rename);
        }
        if (!train)
        {
            Console.WriteLine($"{request.ConfigPath}{point?.Suffix}: valid ({data.Name}: {data.Train.Count} train, {data.Validation.Count} validation, {data.Test.Count} test rows; " +
                $"{catalog.All.Count} plugins available)");
            return (ExitCodes.Ok, null);
        }

        RunDirectory run;
        bool resumed = false;
        string logFile;
        if (request.Stage is Stage.All or Stage.Parent)
        {
            (run, resumed) = RunDirectory.CreateOrResume(outputDirectory ?? Path.Combine("runs", $"{config.Name}-{DateTime.Now:yyyyMMdd-HHmmss}"), resolved, request.Force);
            RunDirectory.WriteAllTextAtomic(run.ConfigFile, resolved, faults);
            if (Path.GetFullPath(request.ConfigPath) != run.Combine("config.yaml"))
                RunDirectory.WriteAtomic(run.Combine("config.original.yaml"), tmp => File.Copy(request.ConfigPath, tmp, overwrite: true), faults);
            logFile = run.LogFile;
        }
        else
        {
            run = RunDirectory.Open(outputDirectory!);
            string saved = run.Combine("config.yaml");
            if (!File.Exists(saved) || File.ReadAllText(saved) != resolved)
                throw new UsageException($"{request.ConfigPath} (with the given --set values) is not the configuration of {run.Path} (its config.yaml); " +
                    "run every stage with the same configuration, e.g. RUN_DIR/config.yaml");
            logFile = request.Stage == Stage.Child ? run.Combine("children", $"child-{index:D3}.log") : run.Combine("ensemble.log");
        }

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
        builder.Services.AddSubnetworkPlugins(catalog);
        builder.Services.AddSingleton<ExperimentRunner>();
        using var host = builder.Build();
        host.Start();
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, lifetime.ApplicationStopping);
        if (faults is Diagnostics.EnvironmentFaultPoints armed) armed.ObserveStopping(linked.Token);
        var logger = host.Services.GetRequiredService<ILogger<ExperimentRunner>>();
        logger.LogInformation("{Verb} {Name} (seed {Seed}), stage {Stage}{Index} → {Directory}", resumed ? "Resuming" : "Run", config.Name, config.Seed,
            request.Stage.ToString().ToLowerInvariant(), request.Stage == Stage.Child ? $" {index}" : "", run.Path);
        try
        {
            var runner = host.Services.GetRequiredService<ExperimentRunner>();
            runner.Faults = faults;
            var factory = host.Services.GetRequiredService<PluginFactory>();
            runner.Reporter = (c, d, r, results) => Reporting.RunReport.Write(r, results, c.SavePredictions,
                file => Reporting.DecisionBoundaryGrid.Draw(file, c, d, r, factory, catalog), faults).Select(f => f.File).ToList();
            if (request.LiveProgress)
            {
                AnsiConsole.Progress().AutoClear(false)
                    .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(),
                        new PercentageColumn(), new SpinnerColumn())
                    .Start(context =>
                    {
                        var live = new Progress.LiveProgress(context, config.Children.Count);
                        runner.Progress = live;
                        runner.Run(request.Stage, index, config, data, device, run, dataSeconds, linked.Token);
                        live.Complete();
                    });
            }
            else
            {
                runner.Progress = new Progress.PlainProgress(logger, TimeSpan.FromSeconds(request.ProgressInterval));
                runner.Run(request.Stage, index, config, data, device, run, dataSeconds, linked.Token);
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
            host.StopAsync().GetAwaiter().GetResult();
        }
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

    private static string FormatDefault(object? value) => value switch
    {
        null => "null",
        Enum e => ConfigNames.EnumValue(e),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        System.Collections.IEnumerable list and not string => "[" + string.Join(", ", list.Cast<object?>().Select(FormatDefault)) + "]",
        _ => value.ToString() ?? "",
    };
}
