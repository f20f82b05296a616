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
using SubnetworkEnsembles.Host.Pipeline;
using SubnetworkEnsembles.Host.Plugins;

namespace SubnetworkEnsembles.Host;

/// <summary>What the command line asked for.</summary>
public sealed record RunRequest(string ConfigPath, string? OutputDirectory, IReadOnlyList<string> Overrides,
    IReadOnlyList<string> PluginDirectories, bool Force, bool Verbose, Stage Stage = Stage.All, int? Index = null);

/// <summary>
/// The commands of <c>sne</c>. Each turns user mistakes into one clear message on stderr and an exit code
/// (<see cref="ExitCodes"/>), never a stack trace (unless --verbose).
/// </summary>
public static class Commands
{
    /// <summary>Plugin directories searched by default: the plugins built with sne, then $SNE_PLUGIN_PATH.</summary>
    public static IEnumerable<string> DefaultPluginDirectories()
    {
        string builtIn = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "plugins"));
        if (Directory.Exists(builtIn)) yield return builtIn;
        foreach (var d in (Environment.GetEnvironmentVariable("SNE_PLUGIN_PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            yield return d;
    }

    /// <summary><c>sne run</c>: validate everything, then train and evaluate into a run directory.</summary>
    public static int Run(RunRequest request, CancellationToken cancellation) =>
        Guard(request.Verbose, () => Execute(request, train: true, cancellation));

    /// <summary><c>sne validate</c>: everything short of training (YAML, plugins, options, data files).</summary>
    public static int Validate(RunRequest request) =>
        Guard(request.Verbose, () => Execute(request, train: false, CancellationToken.None));

    /// <summary><c>sne plugins</c>: lists every plugin with kind, assembly and options.</summary>
    public static int ListPlugins(IReadOnlyList<string> extraDirectories, bool verbose) => Guard(verbose, () =>
    {
        using var loggerFactory = ConsoleLoggerFactory(verbose);
        var catalog = PluginCatalog.Discover(DefaultPluginDirectories().Concat(extraDirectories), loggerFactory.CreateLogger("sne"));
        foreach (var d in catalog.All)
        {
            Console.WriteLine($"{d.Kind.ToString().ToLowerInvariant(),-13} {d.Name,-16} {d.Description}  [{Path.GetFileName(d.AssemblyPath)}]");
            if (d.OptionsType is null) continue;
            var defaults = Activator.CreateInstance(d.OptionsType);
            foreach (var p in d.OptionsType.GetProperties().Where(p => p.CanWrite))
                Console.WriteLine($"{"",30}{ConfigNames.Key(p.Name)}: {FormatDefault(p.GetValue(defaults))}");
        }
        return ExitCodes.Ok;
    });

    /// <summary>Reads, resolves and validates a configuration: YAML, plugins, options, device and data. Throws on any problem.</summary>
    internal static (ExperimentConfig Config, PluginCatalog Catalog, TorchSharp.torch.Device Device, DataSplits Data) Prepare(RunRequest request, ILogger log)
    {
        var (document, config, binder) = ExperimentLoader.Read(request.ConfigPath, request.Overrides);
        var directories = DefaultPluginDirectories().Concat(request.PluginDirectories).Concat(ExperimentLoader.PluginDirectories(document, config)).ToList();
        var catalog = PluginCatalog.Discover(directories, log);
        ExperimentLoader.Resolve(config, binder, catalog);
        // The resolved config names its plugin folders absolutely, so it can be run from any directory (e.g. by Slurm).
        var absolute = ExperimentLoader.PluginDirectories(document, config).ToList();
        config.Plugins.Directories.Clear();
        config.Plugins.Directories.AddRange(absolute);
        var device = LibTorchRuntime.ResolveDevice(config.Device);
        var data = DatasetLoader.Load(config.Data);
        return (config, catalog, device, data);
    }

    private static int Execute(RunRequest request, bool train, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        using var bootstrapLogging = ConsoleLoggerFactory(request.Verbose);
        var log = bootstrapLogging.CreateLogger("sne");
        int index = ResolveIndex(request);
        if (request.Stage != Stage.All && request.OutputDirectory is null)
            throw new UsageException($"--stage {request.Stage.ToString().ToLowerInvariant()} needs --out RUN_DIR, the run directory every stage shares");
        var (config, catalog, device, data) = Prepare(request, log);
        using var _ = data;
        double dataSeconds = clock.Elapsed.TotalSeconds;
        if (!train)
        {
            Console.WriteLine($"{request.ConfigPath}: valid ({data.Name}: {data.Train.Count} train, {data.Validation.Count} validation, {data.Test.Count} test rows; " +
                $"{catalog.All.Count} plugins available)");
            return ExitCodes.Ok;
        }

        string resolved = ResolvedConfigWriter.ToYaml(config);
        RunDirectory run;
        bool resumed = false;
        string logFile;
        if (request.Stage is Stage.All or Stage.Parent)
        {
            (run, resumed) = RunDirectory.CreateOrResume(request.OutputDirectory ?? Path.Combine("runs", $"{config.Name}-{DateTime.Now:yyyyMMdd-HHmmss}"), resolved, request.Force);
            RunDirectory.WriteAllTextAtomic(run.ConfigFile, resolved);
            if (Path.GetFullPath(request.ConfigPath) != run.Combine("config.yaml"))
                RunDirectory.WriteAtomic(run.Combine("config.original.yaml"), tmp => File.Copy(request.ConfigPath, tmp, overwrite: true));
            logFile = run.LogFile;
        }
        else
        {
            run = RunDirectory.Open(request.OutputDirectory!);
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
        ConfigureConsole(builder.Logging, request.Verbose);
        builder.Logging.AddProvider(new FileLoggerProvider(logFile));
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.AddSubnetworkPlugins(catalog);
        builder.Services.AddSingleton<ExperimentRunner>();
        using var host = builder.Build();
        host.Start();
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, lifetime.ApplicationStopping);
        var logger = host.Services.GetRequiredService<ILogger<ExperimentRunner>>();
        logger.LogInformation("{Verb} {Name} (seed {Seed}), stage {Stage}{Index} → {Directory}", resumed ? "Resuming" : "Run", config.Name, config.Seed,
            request.Stage.ToString().ToLowerInvariant(), request.Stage == Stage.Child ? $" {index}" : "", run.Path);
        try
        {
            host.Services.GetRequiredService<ExperimentRunner>().Run(request.Stage, index, config, data, device, run, dataSeconds, linked.Token);
            if (request.Stage is Stage.All or Stage.Ensemble)
                logger.LogInformation("Results: {File} ({Seconds:F1} s)", run.ResultsFile, clock.Elapsed.TotalSeconds);
            return ExitCodes.Ok;
        }
        catch (OperationCanceledException)
        {
            logger.LogWarning("Interrupted; progress is saved. Continue with: sne run {Config} --out {Directory}", request.ConfigPath, run.Path);
            return ExitCodes.Interrupted;
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

    /// <summary><c>sne status RUN_DIR</c>: the state of the parent, every child and the ensemble.</summary>
    public static int Status(string runDirectory, bool verbose) => Guard(verbose, () =>
    {
        var run = RunDirectory.Open(runDirectory);
        string saved = run.Combine("config.yaml");
        if (!File.Exists(saved)) throw new UsageException($"{run.Path} has no config.yaml: not a run directory");
        var (_, config, _) = ExperimentLoader.Read(saved, []);
        var status = RunStatus.Read(run, config.Children.Count);
        Console.WriteLine($"{run.Path}: {config.Name}, seed {config.Seed}");
        Console.WriteLine($"parent    {(status.ParentDone ? "done" : "pending")}");
        for (int i = 0; i < config.Children.Count; i++)
        {
            string state = status.Done.Contains(i) ? "done" : status.Failed.TryGetValue(i, out var reason) ? $"failed: {reason}" : "pending";
            Console.WriteLine($"child {i,-3} {state}");
        }
        Console.WriteLine($"ensemble  {(status.EnsembleDone ? "done" : "pending")}");
        Console.WriteLine($"{status.Done.Count}/{config.Children.Count} children done, {status.Failed.Count} failed, {status.Missing.Count} pending");
        return ExitCodes.Ok;
    });

    /// <summary>Maps failures to one message on stderr and an exit code.</summary>
    internal static int Guard(bool verbose, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (ConfigException e) { return Fail(e.Message, ExitCodes.ConfigurationError, verbose ? e : null); }
        catch (UsageException e) { return Fail(e.Message, ExitCodes.ConfigurationError, verbose ? e : null); }
        catch (IncompleteRunException e) { return Fail(e.Message, ExitCodes.RuntimeFailure, verbose ? e : null); }
        catch (DirectoryNotFoundException e) { return Fail(e.Message, ExitCodes.ConfigurationError, verbose ? e : null); }
        catch (DataFileException e) { return Fail("data: " + e.Message, ExitCodes.ConfigurationError, verbose ? e : null); }
        catch (RunDirectoryExistsException e) { return Fail(e.Message, ExitCodes.ConfigurationError, verbose ? e : null); }
        catch (LibTorchUnavailableException e) { return Fail(e.Message, e.Message.Contains("CUDA", StringComparison.Ordinal) ? ExitCodes.ConfigurationError : ExitCodes.RuntimeFailure, verbose ? e : null); }
        catch (PluginLoadException e) { return Fail(e.Message, ExitCodes.RuntimeFailure, verbose ? e : null); }
        catch (TrainingDivergedException e) { return Fail(e.Message, ExitCodes.RuntimeFailure, verbose ? e : null); }
        catch (OperationCanceledException) { return Fail("interrupted", ExitCodes.Interrupted, null); }
        catch (Exception e) { return Fail($"unexpected failure: {e.Message}", ExitCodes.RuntimeFailure, e); }
    }

    internal static int Fail(string message, int code, Exception? detail)
    {
        Console.Error.WriteLine($"sne: error: {message}");
        if (detail is not null) Console.Error.WriteLine(detail);
        return code;
    }

    private static ILoggerFactory ConsoleLoggerFactory(bool verbose) => LoggerFactory.Create(b => ConfigureConsole(b, verbose));

    private static void ConfigureConsole(ILoggingBuilder logging, bool verbose)
    {
        logging.AddConsole(o => o.FormatterName = CompactConsoleFormatter.FormatterName).AddConsoleFormatter<CompactConsoleFormatter, ConsoleFormatterOptions>();
        logging.SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Information);
        logging.AddFilter("Microsoft", LogLevel.Warning);
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

/// <summary>The command line asks for something that cannot work (a missing option, a mismatched configuration). Exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
