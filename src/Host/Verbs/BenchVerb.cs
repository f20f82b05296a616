using System.CommandLine;
using SubnetworkEnsembles.Host.Benchmarks;
using SubnetworkEnsembles.Host.Logging;

namespace SubnetworkEnsembles.Host.Verbs;

/// <summary><c>sne bench SUITE</c>: runs the benchmark suite's tables over seeds (see <see cref="BenchmarkRunner"/>).</summary>
public sealed class BenchVerb
{
    private readonly VerbContext _context;

    /// <summary>The verb's command, with its options and action.</summary>
    public Command Command { get; }

    /// <summary>Creates <c>sne bench</c> over the shared options of <paramref name="context"/>.</summary>
    public BenchVerb(VerbContext context)
    {
        _context = context;
        var o = context.Options;
        var suite = new Argument<string>("suite") { Description = "default (the tables of docs/RESULTS.md, about 1.5 h on 2 cores), smoke (every table on tiny data, a few minutes), resnet (R1–R2 with ResNet-20, about 20 min), resnet-smoke, data-aware (D1–D2: snip, fisher, grasp, synflow, rigl against random and magnitude masks) or pruning-long (T3L: T3 with 10 tuning epochs, about 12 min per seed)", DefaultValueFactory = _ => "default" };
        var seeds = new Option<int?>("--seeds") { Description = "Seeds per table (default: 3, and 2 for T2/T5; smoke: 1)" };
        var tables = new Option<string[]>("--tables") { Description = "Only these tables, e.g. --tables T1 --tables T3 (default: all)" };
        var examples = new Option<string?>("--examples") { Description = "The folder holding examples/ (default: found upward from the current directory)" };
        Command = new Command("bench", "Run a benchmark suite (T1–T7 of dissertation ch. 4–7 with the baselines) over seeds and write T*.csv, T*.md and suite.md with mean ± s.e.\n" +
            "Finished runs are kept, so an interrupted suite resumes.\n" +
            "Examples:\n  sne bench smoke --out runs/bench-smoke\n  sne bench default --out runs/bench --tables T1 --seeds 3")
        { suite, o.Out, seeds, tables, examples, o.Plugins, o.Verbose };
        Command.SetAction(r => Execute(r.GetValue(suite)!, r.GetValue(o.Out), r.GetValue(seeds), r.GetValue(tables) ?? [],
            r.GetValue(examples), r.GetValue(o.Plugins) ?? [], r.GetValue(o.Verbose), CancellationToken.None));
    }

    /// <summary>Runs <paramref name="suite"/> into <paramref name="output"/> (default runs/bench-SUITE); exit 2 for bad --seeds or no examples/baselines/.</summary>
    public int Execute(string suite, string? output, int? seeds, IReadOnlyList<string> tables, string? examples, IReadOnlyList<string> pluginDirectories,
        bool verbose, CancellationToken cancellation) => CommandErrors.Guard(verbose, () =>
    {
        if (seeds is < 1) throw new UsageException($"--seeds must be ≥ 1, got {seeds}");
        string root = examples ?? FindExamplesRoot()
            ?? throw new UsageException("cannot find examples/baselines/ above the current directory: run from the repository or pass --examples DIR");
        if (!Directory.Exists(Path.Combine(root, "examples", "baselines"))) throw new UsageException($"{root} has no examples/baselines/ folder");
        using var logging = ConsoleLogging.CreateFactory(new RunRequest("", null, [], [], false, verbose));
        var log = logging.CreateLogger("sne");
        var request = new BenchRequest(suite, output ?? Path.Combine("runs", $"bench-{suite}"), seeds, tables, root, pluginDirectories, verbose) { Catalogs = _context.Catalogs };
        return BenchmarkRunner.Run(request, log, cancellation);
    });

    private static string? FindExamplesRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (Directory.Exists(Path.Combine(d.FullName, "examples", "baselines"))) return d.FullName;
        return null;
    }
}
