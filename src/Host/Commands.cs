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
    IReadOnlyList<string> PluginDirectories, bool Force, bool Verbose);

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

    private static int Execute(RunRequest request, bool train, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var (document, config, binder) = ExperimentLoader.Read(request.ConfigPath, request.Overrides);
        using var bootstrapLogging = ConsoleLoggerFactory(request.Verbose);
        var log = bootstrapLogging.CreateLogger("sne");
        var directories = DefaultPluginDirectories().Concat(request.PluginDirectories).Concat(ExperimentLoader.PluginDirectories(document, config));
        var catalog = PluginCatalog.Discover(directories, log);
        ExperimentLoader.Resolve(config, binder, catalog);
        var device = LibTorchRuntime.ResolveDevice(config.Device);
        using var data = DatasetLoader.Load(config.Data);
        double dataSeconds = clock.Elapsed.TotalSeconds;
        if (!train)
        {
            Console.WriteLine($"{request.ConfigPath}: valid ({data.Name}: {data.Train.Count} train, {data.Validation.Count} validation, {data.Test.Count} test rows; " +
                $"{catalog.All.Count} plugins available)");
            return ExitCodes.Ok;
        }

        var run = RunDirectory.Create(request.OutputDirectory ?? Path.Combine("runs", $"{config.Name}-{DateTime.Now:yyyyMMdd-HHmmss}"), request.Force);
        RunDirectory.WriteAllTextAtomic(run.Combine("config.yaml"), ResolvedConfigWriter.ToYaml(config));
        File.Copy(request.ConfigPath, run.Combine("config.original.yaml"), overwrite: true);

        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = [],
            ContentRootPath = Directory.GetCurrentDirectory(),
        });
        builder.Logging.ClearProviders();
        ConfigureConsole(builder.Logging, request.Verbose);
        builder.Logging.AddProvider(new FileLoggerProvider(run.LogFile));
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.AddSubnetworkPlugins(catalog);
        builder.Services.AddSingleton<ExperimentRunner>();
        using var host = builder.Build();
        host.Start();
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, lifetime.ApplicationStopping);
        var logger = host.Services.GetRequiredService<ILogger<ExperimentRunner>>();
        logger.LogInformation("Run {Name} (seed {Seed}) → {Directory}", config.Name, config.Seed, run.Path);
        try
        {
            var results = host.Services.GetRequiredService<ExperimentRunner>().Run(config, data, device, run, dataSeconds, linked.Token);
            RunDirectory.WriteAllTextAtomic(run.ResultsFile, ExperimentRunner.ToJson(results));
            logger.LogInformation("Results: {File} ({Seconds:F1} s)", run.ResultsFile, clock.Elapsed.TotalSeconds);
            return ExitCodes.Ok;
        }
        catch (OperationCanceledException)
        {
            logger.LogWarning("Interrupted; {Directory} holds no results.json", run.Path);
            return ExitCodes.Interrupted;
        }
        finally
        {
            host.StopAsync().GetAwaiter().GetResult();
        }
    }

    /// <summary>Maps failures to one message on stderr and an exit code.</summary>
    private static int Guard(bool verbose, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (ConfigException e) { return Fail(e.Message, ExitCodes.ConfigurationError, verbose ? e : null); }
        catch (DataFileException e) { return Fail("data: " + e.Message, ExitCodes.ConfigurationError, verbose ? e : null); }
        catch (RunDirectoryExistsException e) { return Fail(e.Message, ExitCodes.ConfigurationError, verbose ? e : null); }
        catch (LibTorchUnavailableException e) { return Fail(e.Message, e.Message.Contains("CUDA", StringComparison.Ordinal) ? ExitCodes.ConfigurationError : ExitCodes.RuntimeFailure, verbose ? e : null); }
        catch (PluginLoadException e) { return Fail(e.Message, ExitCodes.RuntimeFailure, verbose ? e : null); }
        catch (TrainingDivergedException e) { return Fail(e.Message, ExitCodes.RuntimeFailure, verbose ? e : null); }
        catch (OperationCanceledException) { return Fail("interrupted", ExitCodes.Interrupted, null); }
        catch (Exception e) { return Fail($"unexpected failure: {e.Message}", ExitCodes.RuntimeFailure, e); }
    }

    private static int Fail(string message, int code, Exception? detail)
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
