using SubnetworkEnsembles.Host.Configuration;

namespace SubnetworkEnsembles.Host.Verbs;

/// <summary>Opens a run directory for the verbs that work on one (status, grow, predict, report).</summary>
public static class ExistingRun
{
    /// <summary>Opens an existing run directory and reads the configuration it was run with (its config.yaml, no environment overrides); exit 2 when it is not one.</summary>
    public static (RunDirectory Run, ExperimentConfig Config) Open(string runDirectory)
    {
        if (!Directory.Exists(runDirectory)) throw new UsageException($"run directory {Path.GetFullPath(runDirectory)} does not exist");
        var run = RunDirectory.Open(runDirectory);
        if (!File.Exists(run.ConfigFile)) throw new UsageException($"{run.Path} has no config.yaml: not a run directory");
        var (_, config, _) = ExperimentLoader.Read(run.ConfigFile, [], environment: new Dictionary<string, string>());
        return (run, config);
    }
}
