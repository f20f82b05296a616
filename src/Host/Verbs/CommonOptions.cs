using System.CommandLine;

namespace SubnetworkEnsembles.Host.Verbs;

/// <summary>The arguments and options several verbs share (one instance each, so every verb shows the same help text).</summary>
public sealed class CommonOptions
{
    /// <summary>CONFIG: the experiment's YAML file.</summary>
    public Argument<string> Config { get; } = new("config") { Description = "The experiment's YAML file, e.g. examples/fashion-mnist-sparse.yaml" };

    /// <summary>RUN_DIR: an existing run directory.</summary>
    public Argument<string> RunDirectory { get; } = new("run-dir") { Description = "A run directory" };

    /// <summary>--out / -o: the run (or suite) directory.</summary>
    public Option<string?> Out { get; } = new("--out", "-o") { Description = "Run directory (default: runs/<name>-<time>)" };

    /// <summary>--set KEY=VALUE (repeatable).</summary>
    public Option<string[]> Set { get; } = new("--set")
    {
        Description = "Override a configuration value: --set children.count=8 (repeatable; the value is YAML)",
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>--plugins DIR (repeatable).</summary>
    public Option<string[]> Plugins { get; } = new("--plugins") { Description = "An extra plugin directory (repeatable; sne run keeps them in the run's config.yaml)" };

    /// <summary>--force.</summary>
    public Option<bool> Force { get; } = new("--force") { Description = "Replace a finished run in --out" };

    /// <summary>--verbose / -v.</summary>
    public Option<bool> Verbose { get; } = new("--verbose", "-v") { Description = "Debug logging; stack traces on errors" };

    /// <summary>--seed.</summary>
    public Option<long?> Seed { get; } = new("--seed") { Description = "The run's seed (overrides 'seed:' and --set seed=…)" };

    /// <summary>--quiet / -q.</summary>
    public Option<bool> Quiet { get; } = new("--quiet", "-q") { Description = "Only warnings and errors on the console (the run's log file keeps everything)" };

    /// <summary>--log-format text|json.</summary>
    public Option<LogFormat> LogFormat { get; } = new("--log-format") { Description = "Console log lines as text or json", DefaultValueFactory = _ => Host.LogFormat.Text };

    /// <summary>--progress auto|live|plain.</summary>
    public Option<ProgressMode> Progress { get; } = new("--progress")
    {
        Description = "auto: a live display on a terminal, plain log lines otherwise; live; plain",
        DefaultValueFactory = _ => ProgressMode.Auto,
    };
}
