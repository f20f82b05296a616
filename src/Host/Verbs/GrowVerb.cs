using System.CommandLine;
using Microsoft.Extensions.Logging;
using SubnetworkEnsembles.Host.Logging;

namespace SubnetworkEnsembles.Host.Verbs;

/// <summary>
/// <c>sne grow RUN_DIR --children N</c>: adds N children to a finished (or unfinished) run and evaluates the
/// ensemble again. Children continue the seed and partition sequence (child i depends only on the seed and i), so
/// the result equals asking for k + N children at the start. The previous results.json is kept as
/// results.previous.json; an interrupted grow is resumed by running the same command again (or by
/// <c>sne run RUN/config.yaml --out RUN</c>): <c>grow.pending</c>, written before anything changes and removed when the
/// grown ensemble is complete, holds the counts it grows from and to, so running it again does not add children twice.
/// </summary>
public sealed class GrowVerb
{
    /// <summary>The verb's command, with its options and action.</summary>
    public Command Command { get; }

    /// <summary>Creates <c>sne grow</c> over the shared options of <paramref name="context"/>.</summary>
    public GrowVerb(VerbContext context)
    {
        var o = context.Options;
        var children = new Option<int>("--children", "-n") { Description = "How many children to add", Required = true };
        Command = new Command("grow", "Add children to an existing ensemble (continuing the seed and partition sequence) and evaluate it again.\n" +
            "Example: sne grow runs/spirals --children 4")
        { o.RunDirectory, children, o.Plugins, o.Verbose, o.Quiet, o.LogFormat, o.Progress };
        Command.SetAction(r => Execute(r.GetValue(o.RunDirectory)!, r.GetValue(children),
            new RunRequest("", null, [], r.GetValue(o.Plugins) ?? [], false, r.GetValue(o.Verbose), Quiet: r.GetValue(o.Quiet), LogFormat: r.GetValue(o.LogFormat), Progress: r.GetValue(o.Progress))
            { Catalogs = context.Catalogs },
            CancellationToken.None));
    }

    /// <summary>
    /// Grows <paramref name="runDirectory"/> by <paramref name="children"/> children with the console options and extra
    /// plugin directories (<see cref="RunRequest.PluginDirectories"/>, besides those its config.yaml names) of <paramref name="options"/>.
    /// </summary>
    public static int Execute(string runDirectory, int children, RunRequest options, CancellationToken cancellation) => CommandErrors.Guard(options.Verbose, () =>
    {
        if (children < 0) throw new UsageException($"--children must be ≥ 0, got {children}");
        var (run, config) = ExistingRun.Open(runDirectory);
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
        using var logging = ConsoleLogging.CreateFactory(request);
        var log = logging.CreateLogger("sne");
        var (grown, _, _) = Commands.Resolve(request, log);
        string resolved = ResolvedConfigWriter.ToYaml(grown);
        if (File.Exists(run.ResultsFile)) File.Move(run.ResultsFile, run.Combine("results.previous.json"), overwrite: true);
        RunDirectory.WriteAllTextAtomic(run.ConfigFile, resolved);
        log.LogInformation("{Verb} {Directory} from {Old} to {New} children", resuming ? "Resuming the interrupted grow of" : "Growing", run.Path, from, total);
        int code = Commands.ExecuteOne(request with { Overrides = [] }, true, null, run.Path, log, false, cancellation).ExitCode;
        if (code == ExitCodes.Ok) File.Delete(pending);
        return code;
    });
}
