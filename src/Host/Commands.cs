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
        foreach (var d in shown)
        {
            Console.WriteLine($"{d.Kind.ToString().ToLowerInvariant(),-13} {d.Name,-16} {d.Description}  [{Path.GetFileName(d.AssemblyPath)}]");
            if (d.OptionsType is null) continue;
            var defaults = Activator.CreateInstance(d.OptionsType);
            foreach (var p in d.OptionsType.GetProperties().Where(p => p.CanWrite))
            {
                string doc = PluginDocumentation.Summary(d.OptionsType, p.Name);
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
            using var model = config.Model.Build(shape, classes);
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
            using var model = config.Model.Build(data.InputShape, data.Classes);
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
            RunDirectory.WriteAllTextAtomic(run.ConfigFile, resolved);
            if (Path.GetFullPath(request.ConfigPath) != run.Combine("config.yaml"))
                RunDirectory.WriteAtomic(run.Combine("config.original.yaml"), tmp => File.Copy(request.ConfigPath, tmp, overwrite: true));
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
        Diagnostics.FaultInjection.ObserveStopping(linked.Token);
        var logger = host.Services.GetRequiredService<ILogger<ExperimentRunner>>();
        logger.LogInformation("{Verb} {Name} (seed {Seed}), stage {Stage}{Index} → {Directory}", resumed ? "Resuming" : "Run", config.Name, config.Seed,
            request.Stage.ToString().ToLowerInvariant(), request.Stage == Stage.Child ? $" {index}" : "", run.Path);
        try
        {
            var runner = host.Services.GetRequiredService<ExperimentRunner>();
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

    /// <summary><c>sne status RUN_DIR</c>: the state of the parent, every child and the ensemble.</summary>
    public static int Status(string runDirectory, bool verbose) => Guard(verbose, () =>
    {
        var (run, config) = OpenRun(runDirectory);
        var status = RunStatus.Read(run, config.Children.Count);
        Console.WriteLine($"{run.Path}: {config.Name}, seed {config.Seed}");
        Console.WriteLine($"parent    {RunStatus.ParentState(run)}");
        var states = Enumerable.Range(0, config.Children.Count).Select(i => status.ChildState(run, i)).ToList();
        for (int i = 0; i < states.Count; i++) Console.WriteLine($"child {i,-3} {states[i]}");
        Console.WriteLine($"ensemble  {RunStatus.EnsembleState(run)}");
        int damaged = states.Count(s => s.StartsWith("damaged", StringComparison.Ordinal));
        Console.WriteLine($"{status.Done.Count - damaged}/{config.Children.Count} children done, {status.Failed.Count} failed, {status.Missing.Count} pending" +
            (damaged > 0 ? $", {damaged} damaged" : ""));
        return ExitCodes.Ok;
    });

    /// <summary>
    /// <c>sne grow RUN_DIR --children N</c>: adds N children to a finished (or unfinished) run and evaluates the
    /// ensemble again. Children continue the seed and partition sequence (child i depends only on the seed and i), so
    /// the result equals asking for k + N children at the start. The previous results.json is kept as
    /// results.previous.json; an interrupted grow is resumed by running the same command again (or by
    /// <c>sne run RUN/config.yaml --out RUN</c>): <c>grow.pending</c>, written before anything changes and removed when the
    /// grown ensemble is complete, holds the counts it grows from and to, so running it again does not add children twice.
    /// </summary>
    public static int Grow(string runDirectory, int children, RunRequest options, CancellationToken cancellation) => Guard(options.Verbose, () =>
    {
        if (children < 0) throw new UsageException($"--children must be ≥ 0, got {children}");
        var (run, config) = OpenRun(runDirectory);
        // A damaged parent (or child) is made again by the run below, deterministically.
        if (!File.Exists(run.ParentResults)) throw new UsageException($"{run.Path}: the parent has not finished (no parent.json); resume the run with sne run first");
        string pending = run.GrowPending;
        int from = config.Children.Count, total = from + children;
        if (File.Exists(pending) && File.Exists(run.ResultsFile)) File.Delete(pending);   // that grow finished by other means (sne run)
        bool resuming = File.Exists(pending);
        if (resuming)
        {
            var counts = File.ReadAllText(pending).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (counts.Length != 2 || !int.TryParse(counts[0], out from) || !int.TryParse(counts[1], out total) || from < 1 || total < from)
                throw new UsageException($"{pending} is damaged (expected 'FROM TO' child counts); delete it and run 'sne run {run.ConfigFile} --out {run.Path}' to finish the run");
            if (total - from != children)
                throw new UsageException($"{run.Path}: an interrupted 'sne grow --children {total - from}' (from {from} to {total} children) has not finished; " +
                    $"run that command again to finish it before growing further");
        }
        else RunDirectory.WriteAllTextAtomic(pending, $"{from} {total}\n");
        var request = options with { ConfigPath = run.ConfigFile, OutputDirectory = run.Path, Overrides = [$"children.count={total}"], Seed = null, Force = false, Stage = Stage.All };
        using var logging = ConsoleLoggerFactory(request);
        var log = logging.CreateLogger("sne");
        var (grown, _, _) = Resolve(request, log);
        string resolved = ResolvedConfigWriter.ToYaml(grown);
        if (File.Exists(run.ResultsFile)) File.Move(run.ResultsFile, run.Combine("results.previous.json"), overwrite: true);
        RunDirectory.WriteAllTextAtomic(run.ConfigFile, resolved);
        log.LogInformation("{Verb} {Directory} from {Old} to {New} children", resuming ? "Resuming the interrupted grow of" : "Growing", run.Path, from, total);
        int code = ExecuteOne(request with { Overrides = [] }, true, null, run.Path, cancellation, log).ExitCode;
        if (code == ExitCodes.Ok) File.Delete(pending);
        return code;
    });

    /// <summary>
    /// <c>sne predict RUN_DIR --input FILE</c>: the ensemble's probabilities, predicted class, predictive entropy and
    /// member disagreement for every row of FILE (IDX, .npy or CSV, in the dataset's units), as CSV.
    /// </summary>
    public static int Predict(string runDirectory, string input, string? output, bool verbose) => Guard(verbose, () =>
    {
        var (run, _) = OpenRun(runDirectory);
        var request = new RunRequest(run.ConfigFile, run.Path, [], [], false, verbose);
        using var logging = ConsoleLoggerFactory(request with { Quiet = true });
        var (config, catalog, device) = Resolve(request, logging.CreateLogger("sne"));
        var (shape, classes) = DatasetLoader.ShapeOf(config.Data);
        string target = OutputPaths.CheckFile(output ?? run.Combine("predictions", Path.GetFileNameWithoutExtension(input.TrimEnd('/')) + ".csv"), "--output");
        using var inputs = Inference.InputReader.Read(input, config.Data, shape);
        using var services = new ServiceCollection().AddLogging().AddSubnetworkPlugins(catalog).BuildServiceProvider();
        using var predictor = new Inference.EnsemblePredictor(run, config, services.GetRequiredService<PluginFactory>(), shape, classes, device);
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var onDevice = inputs.to(device);
        var (members, ensemble) = predictor.Predict(onDevice);
        var probabilities = ensemble.cpu().data<float>().ToArray();
        var predicted = ensemble.argmax(1).cpu().data<long>().ToArray();
        var entropy = Inference.EnsemblePredictor.Entropy(ensemble).cpu().data<float>().ToArray();
        var disagreement = Inference.EnsemblePredictor.Disagreement(members, ensemble).cpu().data<float>().ToArray();
        var text = new System.Text.StringBuilder();
        text.AppendLine("row," + string.Join(',', Enumerable.Range(0, classes).Select(c => $"p{c}")) + ",predicted,entropy,disagreement");
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        for (int r = 0; r < predicted.Length; r++)
        {
            text.Append(r.ToString(inv));
            for (int c = 0; c < classes; c++) text.Append(',').Append(probabilities[r * classes + c].ToString("G6", inv));
            text.Append(',').Append(predicted[r].ToString(inv)).Append(',').Append(entropy[r].ToString("G6", inv)).Append(',').Append(disagreement[r].ToString("G6", inv)).AppendLine();
        }
        OutputPaths.CreateParent(target, "--output");
        RunDirectory.WriteAllTextAtomic(target, text.ToString());
        Console.WriteLine($"{predicted.Length} rows → {target} (ensemble of {predictor.MemberIndices.Count} members; columns row, p0…p{classes - 1}, predicted, entropy, disagreement)");
        return ExitCodes.Ok;
    });

    /// <summary><c>sne report RUN_DIR</c>: (re)writes report.md, report.html, the figures, metrics.jsonl and the TensorBoard events of a finished run.</summary>
    public static int Report(string runDirectory, bool verbose) => Guard(verbose, () =>
    {
        var (run, _) = OpenRun(runDirectory);
        if (!File.Exists(run.ResultsFile)) throw new UsageException($"{run.Path} has no results.json: the run has not finished (resume it with sne run)");
        var request = new RunRequest(run.ConfigFile, run.Path, [], [], false, verbose);
        using var logging = ConsoleLoggerFactory(request);
        var (config, catalog, device, data) = Prepare(request, logging.CreateLogger("sne"));
        using var _ = data;
        using var services = new ServiceCollection().AddLogging(b => b.AddProvider(new ConsoleLoggerForwarder(logging))).AddSubnetworkPlugins(catalog).BuildServiceProvider();
        var results = RunFiles.ReadResults(run.ResultsFile);
        var figures = Reporting.RunReport.Write(run, results, config.SavePredictions, file => Reporting.DecisionBoundaryGrid.Draw(file, config, data, run, services.GetRequiredService<PluginFactory>(), catalog));
        Console.WriteLine($"{run.Combine("report.html")}, {run.Combine("report.md")}: {figures.Count} figures ({string.Join(", ", figures.Select(f => f.File))}); " +
            "metrics.jsonl, tensorboard/");
        return ExitCodes.Ok;
    });

    /// <summary>Opens an existing run directory and reads the configuration it was run with (no environment overrides).</summary>
    internal static (RunDirectory Run, ExperimentConfig Config) OpenRun(string runDirectory)
    {
        if (!Directory.Exists(runDirectory)) throw new UsageException($"run directory {Path.GetFullPath(runDirectory)} does not exist");
        var run = RunDirectory.Open(runDirectory);
        if (!File.Exists(run.ConfigFile)) throw new UsageException($"{run.Path} has no config.yaml: not a run directory");
        var (_, config, _) = ExperimentLoader.Read(run.ConfigFile, [], environment: new Dictionary<string, string>());
        return (run, config);
    }

    /// <summary>Maps failures to one message on stderr and an exit code.</summary>
    /// <summary><c>sne bench SUITE</c>: runs the benchmark suite's tables over seeds (see <see cref="Benchmarks.BenchmarkRunner"/>).</summary>
    public static int Bench(string suite, string? output, int? seeds, IReadOnlyList<string> tables, string? examples, IReadOnlyList<string> pluginDirectories,
        bool verbose, CancellationToken cancellation) => Guard(verbose, () =>
    {
        if (seeds is < 1) throw new UsageException($"--seeds must be ≥ 1, got {seeds}");
        string root = examples ?? FindExamplesRoot()
            ?? throw new UsageException("cannot find examples/baselines/ above the current directory: run from the repository or pass --examples DIR");
        if (!Directory.Exists(Path.Combine(root, "examples", "baselines"))) throw new UsageException($"{root} has no examples/baselines/ folder");
        using var logging = ConsoleLoggerFactory(new RunRequest("", null, [], [], false, verbose));
        var log = logging.CreateLogger("sne");
        var request = new Benchmarks.BenchRequest(suite, output ?? Path.Combine("runs", $"bench-{suite}"), seeds, tables, root, pluginDirectories, verbose);
        return Benchmarks.BenchmarkRunner.Run(request, log, cancellation);
    });

    private static string? FindExamplesRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (Directory.Exists(Path.Combine(d.FullName, "examples", "baselines"))) return d.FullName;
        return null;
    }

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
        catch (PluginCallException e) { return Fail(e.Message, ExitCodes.RuntimeFailure, verbose ? e : null); }
        catch (CorruptFileException e) { return Fail(e.Message, ExitCodes.RuntimeFailure, verbose ? e : null); }
        catch (IOException e) when (e.HResult == 28 || e.Message.Contains("No space left", StringComparison.Ordinal))
        {
            return Fail($"the disk is full: {e.Message}. Finished work and the last checkpoint are intact; free space and run the same command again to resume",
                ExitCodes.RuntimeFailure, verbose ? e : null);
        }
        catch (ParentWeightsException e) { return Fail(e.Message, ExitCodes.ConfigurationError, verbose ? e : null); }
        catch (UnauthorizedAccessException e) { return Fail(e.Message, ExitCodes.ConfigurationError, verbose ? e : null); }
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

    internal static ILoggerFactory ConsoleLoggerFactory(RunRequest request) => LoggerFactory.Create(b => ConfigureConsole(b, request));

    /// <summary>Console logging as asked: text or JSON lines; --quiet shows warnings and errors only, --verbose adds debug.</summary>
    private static void ConfigureConsole(ILoggingBuilder logging, RunRequest request)
    {
        if (request.LogFormat == LogFormat.Json) logging.AddJsonConsole(o => o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ");
        else logging.AddConsole(o => o.FormatterName = CompactConsoleFormatter.FormatterName).AddConsoleFormatter<CompactConsoleFormatter, ConsoleFormatterOptions>();
        var level = request.Verbose ? LogLevel.Debug : request.Quiet ? LogLevel.Warning : LogLevel.Information;
        logging.SetMinimumLevel(LogLevel.Debug);
        logging.AddFilter<ConsoleLoggerProvider>((category, l) => l >= level && (category?.StartsWith("Microsoft", StringComparison.Ordinal) != true || l >= LogLevel.Warning));
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

/// <summary>Hands loggers of a service provider to an existing logger factory (its console settings).</summary>
internal sealed class ConsoleLoggerForwarder(ILoggerFactory factory) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => factory.CreateLogger(categoryName);

    public void Dispose() { }
}

/// <summary>The command line asks for something that cannot work (a missing option, a mismatched configuration). Exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
