using Microsoft.Extensions.Logging;

namespace SubnetworkEnsembles.Host;

/// <summary><c>sne bench</c>.</summary>
public static partial class Commands
{
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
}
