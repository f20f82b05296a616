using SubnetworkEnsembles.Host.Configuration;
using SubnetworkEnsembles.Experiments.Pipeline;

namespace SubnetworkEnsembles.Host;

/// <summary><c>sne status</c>.</summary>
public static partial class Commands
{
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

    /// <summary>Opens an existing run directory and reads the configuration it was run with (no environment overrides).</summary>
    internal static (RunDirectory Run, ExperimentConfig Config) OpenRun(string runDirectory)
    {
        if (!Directory.Exists(runDirectory)) throw new UsageException($"run directory {Path.GetFullPath(runDirectory)} does not exist");
        var run = RunDirectory.Open(runDirectory);
        if (!File.Exists(run.ConfigFile)) throw new UsageException($"{run.Path} has no config.yaml: not a run directory");
        var (_, config, _) = ExperimentLoader.Read(run.ConfigFile, [], environment: new Dictionary<string, string>());
        return (run, config);
    }
}
