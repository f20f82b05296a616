using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using SubnetworkEnsembles.Host.Sweeps;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Host.Benchmarks;

/// <summary>What <c>sne bench</c> was asked for.</summary>
public sealed record BenchRequest(string Suite, string OutputDirectory, int? Seeds, IReadOnlyList<string> Tables, string ExamplesRoot,
    IReadOnlyList<string> PluginDirectories, bool Verbose)
{
    /// <summary>The plugin catalogs shared by the suite's runs (discovered once per set of directories).</summary>
    public PluginCatalogCache Catalogs { get; init; } = new();
}

/// <summary>
/// Runs a suite (<see cref="BenchmarkSuite"/>): every run of every selected table for each seed, in order, in
/// <c>OUT/runs/NAME-sSEED</c> (a finished run is kept, so an interrupted suite resumes where it stopped), then writes
/// per table <c>OUT/T*.csv</c> (every value) and <c>OUT/T*.md</c> (mean ± standard error over seeds), the whole
/// <c>OUT/suite.md</c>, and <c>OUT/commands.txt</c> with the equivalent <c>sne run</c> command of every run (kept
/// across invocations into the same OUT).
/// </summary>
public static class BenchmarkRunner
{
    /// <summary>Runs the suite; returns the exit code.</summary>
    public static int Run(BenchRequest request, ILogger log, CancellationToken cancellation)
    {
        var size = SuiteSize.Named(request.Suite);
        string output = Path.GetFullPath(request.OutputDirectory);
        Directory.CreateDirectory(output);
        string DirectoryOf(BenchRun run, long seed) => Path.Combine(output, "runs", $"{run.Name}-s{seed}");
        var tables = BenchmarkSuite.Tables(size, DirectoryOf);
        var unknown = request.Tables.Where(t => tables.All(x => !x.Id.Equals(t, StringComparison.OrdinalIgnoreCase))).ToList();
        if (unknown.Count > 0) throw new UsageException($"unknown table {string.Join(", ", unknown)}: expected {string.Join(", ", tables.Select(t => t.Id))}");
        var selected = tables.Where(t => request.Tables.Count == 0 || request.Tables.Any(x => x.Equals(t.Id, StringComparison.OrdinalIgnoreCase))).ToList();
        var clock = Stopwatch.StartNew();
        var commands = new List<string>();
        var done = new Dictionary<string, ExperimentResults>();
        var sections = new StringBuilder();
        sections.AppendLine(CultureInfo.InvariantCulture, $"# Benchmark suite '{size.Name}'").AppendLine();
        sections.AppendLine(CultureInfo.InvariantCulture, $"Machine: {Machine()}; sne {typeof(BenchmarkRunner).Assembly.GetName().Version}. Commands of every run: commands.txt.").AppendLine();
        foreach (var table in selected)
        {
            int seeds = request.Seeds ?? table.Seeds;
            var tableClock = Stopwatch.StartNew();
            var values = new List<(long Seed, BenchCell Cell, string Metric, double? Value)>();
            for (long seed = 0; seed < seeds; seed++)
            {
                foreach (var cell in table.Cells(seed))
                {
                    string directory = DirectoryOf(cell.Run, seed);
                    if (!done.TryGetValue(directory, out var results))
                    {
                        results = Execute(request, size, cell.Run, seed, directory, log, commands, cancellation);
                        done[directory] = results;
                    }
                    foreach (var (metric, read) in cell.Values) values.Add((seed, cell, metric, read(results, directory)));
                }
            }
            var (csv, markdown) = Summarise(table, values, seeds);
            double minutes = tableClock.Elapsed.TotalMinutes;
            string section = $"## {table.Id}. {table.Title}\n\nReference: {table.Reference}. Seeds: 0 … {seeds - 1}; mean ± standard error over seeds. " +
                $"Wall time of this table in this invocation: {minutes:F1} min (runs finished earlier are not re-run).\n\n{markdown}" +
                (table.Appendix is { } appendix ? appendix(DirectoryOf) : "");
            RunDirectory.WriteAllTextAtomic(Path.Combine(output, $"{table.Id}.csv"), csv);
            RunDirectory.WriteAllTextAtomic(Path.Combine(output, $"{table.Id}.md"), section);
            sections.AppendLine(section);
            log.LogInformation("{Table} done in {Minutes:F1} min → {File}", table.Id, minutes, Path.Combine(output, $"{table.Id}.md"));
            Console.WriteLine(section);
        }
        sections.AppendLine(CultureInfo.InvariantCulture, $"Total wall time of this invocation: {clock.Elapsed.TotalMinutes:F1} min.");
        RunDirectory.WriteAllTextAtomic(Path.Combine(output, "suite.md"), sections.ToString());
        // Every invocation adds its runs' commands to those of earlier invocations into the same OUT (--tables T3, then T7, …).
        string commandsFile = Path.Combine(output, "commands.txt");
        var earlier = File.Exists(commandsFile) ? File.ReadAllLines(commandsFile).Where(l => l.Length > 0) : [];
        RunDirectory.WriteAllTextAtomic(commandsFile, string.Join('\n', earlier.Concat(commands).Distinct()) + "\n");
        log.LogInformation("Suite {Suite}: {Minutes:F1} min; tables in {Directory}", size.Name, clock.Elapsed.TotalMinutes, output);
        return ExitCodes.Ok;
    }

    private static ExperimentResults Execute(BenchRequest request, SuiteSize size, BenchRun run, long seed, string directory, ILogger log,
        List<string> commands, CancellationToken cancellation)
    {
        string config = Path.Combine(request.ExamplesRoot, run.Config);
        var overrides = run.Overrides.Concat(size.Overrides).ToList();
        commands.Add($"sne run {run.Config} {string.Join(' ', overrides.Select(o => "--set " + Quote(o)))} --seed {seed} --out runs/{Path.GetFileName(directory)}");
        log.LogInformation("Run {Name} seed {Seed}", run.Name, seed);
        var runRequest = new RunRequest(config, directory, overrides, request.PluginDirectories, Force: false, request.Verbose, Seed: seed, Quiet: true,
            Progress: ProgressMode.Plain, ProgressInterval: 1e9)
        { Catalogs = request.Catalogs };
        var (code, _) = Commands.ExecuteOne(runRequest, true, null, directory, log, keepFinished: true, cancellation);
        if (code != ExitCodes.Ok) throw new BenchRunFailedException($"run {run.Name} (seed {seed}) ended with exit code {code}; see {directory}/run.log", code);
        return ExperimentResults.Read(Path.Combine(directory, "results.json"));
    }

    /// <summary>CSV of every value and the markdown table of mean ± standard error over seeds.</summary>
    public static (string Csv, string Markdown) Summarise(BenchTable table, IReadOnlyList<(long Seed, BenchCell Cell, string Metric, double? Value)> values, int seeds)
    {
        var csv = new StringBuilder("table,row,column,metric,seed,value\n");
        foreach (var (seed, cell, metric, value) in values.Where(v => v.Cell.Row.Length > 0))
            csv.AppendLine(string.Join(',', new[] { table.Id, cell.Row, cell.Column, metric, seed.ToString(CultureInfo.InvariantCulture), Number(value, "R") }.Select(SweepRunner.Csv)));
        var shown = values.Where(v => v.Cell.Row.Length > 0).ToList();
        var rows = shown.Select(v => v.Cell.Row).Distinct().ToList();
        var headers = shown.Select(v => (v.Cell.Column, v.Metric)).Distinct().ToList();
        bool onlyColumns = headers.Select(h => h.Metric).Distinct().Count() == 1 && headers.Any(h => h.Column.Length > 0);
        var md = new StringBuilder();
        md.AppendLine("| | " + string.Join(" | ", headers.Select(h => onlyColumns ? h.Column : h.Column.Length > 0 ? $"{h.Column} {h.Metric}" : h.Metric)) + " |");
        md.AppendLine("|---|" + string.Concat(headers.Select(_ => "---|")));
        foreach (var row in rows)
        {
            var cells = headers.Select(h => MeanSe(shown.Where(v => v.Cell.Row == row && v.Cell.Column == h.Column && v.Metric == h.Metric).Select(v => v.Value).ToList(), h.Metric));
            md.AppendLine(CultureInfo.InvariantCulture, $"| {row} | {string.Join(" | ", cells)} |");
        }
        return (csv.ToString(), md.ToString());
    }

    /// <summary>"0.8912 ± 0.0011" (n ≥ 2; "± 0.0000" when the seeds agree), "0.8912" (n = 1, or a budget equal for every seed), "–" (no value); epochs and counts without decimals.</summary>
    public static string MeanSe(IReadOnlyList<double?> values, string metric)
    {
        var xs = values.OfType<double>().Where(double.IsFinite).ToList();
        if (xs.Count == 0) return "–";
        string format = metric is "epochs" or "members" ? "0.#" : metric.StartsWith("train FLOPs", StringComparison.Ordinal) || metric == "σ" ? "0.###" : "0.0000";
        double mean = xs.Average();
        if (xs.Count == 1) return mean.ToString(format, CultureInfo.InvariantCulture);
        double se = Math.Sqrt(xs.Sum(x => (x - mean) * (x - mean)) / (xs.Count - 1) / xs.Count);
        // Budgets (epochs, members, FLOPs) are the same for every seed by design: no "± 0". A measured value keeps it, so
        // two seeds that agree are not mistaken for one.
        bool budget = metric is "epochs" or "members" || metric.StartsWith("train FLOPs", StringComparison.Ordinal);
        return se == 0 && budget ? mean.ToString(format, CultureInfo.InvariantCulture)
            : $"{mean.ToString(format, CultureInfo.InvariantCulture)} ± {se.ToString(format, CultureInfo.InvariantCulture)}";
    }

    private static string Number(double? value, string format) => value is double d ? d.ToString(format, CultureInfo.InvariantCulture) : "";

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";

    /// <summary>"2 cores (AMD EPYC …), Linux 6.1, .NET 10.0.0, 2 LibTorch threads".</summary>
    public static string Machine()
    {
        string cpu = "";
        try { cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? ""; }
        catch (IOException) { }
        return $"{Environment.ProcessorCount} cores{(cpu.Length > 0 ? $" ({cpu})" : "")}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, " +
            $".NET {Environment.Version}, {get_num_threads()} LibTorch threads";
    }
}

/// <summary>
/// Ensembles recomputed from a run's predictions/members.npy [M, N, C] (the mean of softmax outputs, as the combiner
/// <c>mean</c>): the first k members (T6) and the children without the parent (member 0 when the parent is a member).
/// Accuracy, NLL = −mean log p̄(y) (p̄ clamped to ≥ 1e-12) and ECE with the report's 15 equal-width bins.
/// </summary>
public static class FirstMembers
{
    private static readonly Dictionary<string, (double[] Accuracy, double[] Nll, double[] Ece)> Cache = [];

    /// <summary>Accuracy, NLL and ECE of the mean of the first <paramref name="k"/> members' probabilities.</summary>
    public static (double Accuracy, double Nll, double Ece) Of(string runDirectory, int k)
    {
        if (!Cache.TryGetValue(runDirectory, out var curves))
        {
            var (members, labels) = Read(runDirectory);
            using (members)
            using (labels)
            {
                long m = members.shape[0];
                curves = (new double[m], new double[m], new double[m]);
                for (int size = 1; size <= m; size++)
                {
                    using var mean = members.narrow(0, 0, size).mean([0]);
                    (curves.Accuracy[size - 1], curves.Nll[size - 1], curves.Ece[size - 1]) = Score(mean, labels);
                }
            }
            Cache[runDirectory] = curves;
        }
        if (k > curves.Accuracy.Length) throw new InvalidOperationException($"{runDirectory} has {curves.Accuracy.Length} members, fewer than {k}");
        return (curves.Accuracy[k - 1], curves.Nll[k - 1], curves.Ece[k - 1]);
    }

    /// <summary>
    /// The children's ensemble without the parent; null when the parent is not a member, no child is, or the run kept no
    /// predictions (save_predictions: false).
    /// </summary>
    public static (double Accuracy, double Nll, double Ece)? WithoutParent(ExperimentResults results, string runDirectory)
    {
        if (!results.Ensemble.IncludesParent || results.Ensemble.Members < 2) return null;
        if (!File.Exists(Path.Combine(runDirectory, "predictions", "members.npy"))) return null;
        var (members, labels) = Read(runDirectory);
        using (members)
        using (labels)
        using (var children = members.narrow(0, 1, members.shape[0] - 1))
        using (var mean = children.mean([0]))
            return Score(mean, labels);
    }

    private static (Tensor Members, Tensor Labels) Read(string runDirectory)
    {
        var members = RunFiles.ReadProbabilities(Path.Combine(runDirectory, "predictions", "members.npy"), stacked: true);
        var labels = RunFiles.ReadLabels(Path.Combine(runDirectory, "predictions", "labels.npy"), members.shape[1], members.shape[2]);
        return (members, labels);
    }

    /// <summary>Accuracy, NLL and ECE of ensemble probabilities <paramref name="mean"/> [N, C] against <paramref name="labels"/> [N].</summary>
    public static (double Accuracy, double Nll, double Ece) Score(Tensor mean, Tensor labels)
    {
        using var scope = NewDisposeScope();
        double accuracy = mean.argmax(1).eq(labels).to_type(ScalarType.Float64).mean().ToDouble();
        double nll = -mean.gather(1, labels.unsqueeze(1)).clamp_min(1e-12).log().to_type(ScalarType.Float64).mean().ToDouble();
        var (confidence, correct, count) = Reporting.RunReport.ReliabilityBins(mean, labels);
        double ece = Enumerable.Range(0, count.Length).Where(b => count[b] > 0)
            .Sum(b => (double)count[b] / labels.shape[0] * Math.Abs(correct[b] - confidence[b]));
        return (accuracy, nll, ece);
    }
}

/// <summary>A run of a suite failed: the suite stops with the run's own exit code (2 its configuration, 3 a fault, 130 interrupted); finished runs stay for the next invocation.</summary>
public sealed class BenchRunFailedException(string message, int exitCode) : SneException(message, exitCode);
