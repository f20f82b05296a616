using System.CommandLine;

namespace SubnetworkEnsembles.Host.Verbs;

/// <summary>
/// What the verbs of one <c>sne</c> process share: the common options and the plugin catalogs discovered so far.
/// <see cref="BuildRootCommand"/> assembles the command line from one class per verb.
/// </summary>
public sealed class VerbContext
{
    /// <summary>The arguments and options several verbs use.</summary>
    public CommonOptions Options { get; } = new();

    /// <summary>Plugin catalogs, discovered once per set of directories for this process's commands.</summary>
    public PluginCatalogCache Catalogs { get; } = new();

    /// <summary>The root command <c>sne</c> with every verb: run, validate, plugins, submit, status, grow, predict, report, analyze, bench.</summary>
    public RootCommand BuildRootCommand()
    {
        var run = new RunVerb(this);
        return new RootCommand("sne — Subnetwork Ensembles: train a parent, spawn perturbed subnetwork children, ensemble them.")
        {
            run.Command, new ValidateVerb(this, run).Command, new PluginsVerb(this).Command, new SubmitVerb(this, run).Command,
            new StatusVerb(this).Command, new GrowVerb(this).Command, new PredictVerb(this).Command, new ReportVerb(this).Command, new ExportVerb(this).Command, new AnalyzeVerb(this).Command,
            new BenchVerb(this).Command,
        };
    }

    /// <summary>Parses <paramref name="args"/> and runs the verb; a parse error prints every problem and exits with 2.</summary>
    public int Invoke(string[] args)
    {
        var parse = BuildRootCommand().Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) Console.Error.WriteLine($"sne: error: {error.Message}");
            Console.Error.WriteLine("Try 'sne --help'.");
            return ExitCodes.ConfigurationError;
        }
        // Ctrl+C and SIGTERM are handled by the generic host's console lifetime inside `run`.
        return parse.Invoke(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }
}
