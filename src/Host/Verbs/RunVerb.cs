using System.CommandLine;

namespace SubnetworkEnsembles.Host.Verbs;

/// <summary>
/// <c>sne run CONFIG</c>: trains and evaluates one experiment (or every sweep point) into a run directory, through
/// <see cref="Commands.Run"/>. Owns the options of a run request, which <c>validate</c> and <c>submit</c> reuse.
/// </summary>
public sealed class RunVerb
{
    private readonly VerbContext _context;

    /// <summary>The verb's command, with its options and action.</summary>
    public Command Command { get; }

    /// <summary>--stage all|parent|child|ensemble.</summary>
    public Option<Stage> Stage { get; } = new("--stage")
    {
        Description = "Run one stage against --out RUN_DIR: parent, child (with --index), ensemble; default all",
        DefaultValueFactory = _ => Experiments.Pipeline.Stage.All,
    };

    /// <summary>--index I of --stage child.</summary>
    public Option<int?> Index { get; } = new("--index") { Description = "The child of --stage child (default: $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX)" };

    /// <summary>--progress-interval seconds.</summary>
    public Option<double> ProgressInterval { get; } = new("--progress-interval") { Description = "Seconds between plain progress lines within an epoch", DefaultValueFactory = _ => 30 };

    /// <summary>Creates <c>sne run</c> over the shared options of <paramref name="context"/>.</summary>
    public RunVerb(VerbContext context)
    {
        _context = context;
        var o = context.Options;
        Command = new Command("run", "Train the parent, build, tune and evaluate the children, write the run directory (or every point of a sweep:).\n" +
            "Re-running on an unfinished --out resumes it; a finished one is kept unless --force.\n" +
            "Examples:\n  sne run examples/fashion-mnist-sparse.yaml --set children.count=4 --out runs/quick\n" +
            "  SNE__PARENT__EPOCHS=5 sne run examples/spirals.yaml --seed 3 --quiet\n" +
            "  sne run examples/sweep-sparsity.yaml --out runs/sweep      (writes runs/sweep/sweep.{csv,md})\n" +
            "Stages: sne run C --out R --stage parent; sne run R/config.yaml --out R --stage child --index 3; … --stage ensemble\n" +
            "Exit codes: 0 ok, 2 usage or configuration error, 3 runtime failure, 130 interrupted (resumable)")
        { o.Config, o.Out, o.Set, o.Seed, o.Plugins, o.Force, o.Verbose, o.Quiet, o.LogFormat, o.Progress, ProgressInterval, Stage, Index };
        Command.SetAction(r => Commands.Run(Request(r), CancellationToken.None));
    }

    /// <summary>The run request of a parsed command line (options a verb does not have keep their defaults); it carries the shared plugin catalogs.</summary>
    public RunRequest Request(ParseResult r)
    {
        var o = _context.Options;
        return new RunRequest(r.GetValue(o.Config)!, r.GetValue(o.Out), r.GetValue(o.Set) ?? [], r.GetValue(o.Plugins) ?? [], r.GetValue(o.Force),
            r.GetValue(o.Verbose), r.GetValue(Stage), r.GetValue(Index), r.GetValue(o.Seed), r.GetValue(o.Quiet), r.GetValue(o.LogFormat),
            r.GetValue(o.Progress), r.GetValue(ProgressInterval))
        { Catalogs = _context.Catalogs };
    }
}
