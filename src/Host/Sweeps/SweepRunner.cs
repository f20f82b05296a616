using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using SubnetworkEnsembles.Host.Configuration;
using YamlDotNet.RepresentationModel;

namespace SubnetworkEnsembles.Host.Sweeps;

/// <summary>One point of a sweep grid: its index and the value of every swept key path.</summary>
public sealed record SweepPoint(int Index, IReadOnlyList<(string KeyPath, YamlNode Value)> Values)
{
    /// <summary>"sparsity=0.5, structure=neurons" (last key segment = value).</summary>
    public string Label => string.Join(", ", Values.Select(v => $"{v.KeyPath.Split('.')[^1]}={Text(v.Value)}"));

    /// <summary>" (sweep point 3: sparsity=0.5, …)", for messages.</summary>
    public string Suffix => $" (sweep point {Index}: {Label})";

    /// <summary>Sub-directory of the sweep's output: "003-sparsity=0.5-structure=neurons", file-name safe.</summary>
    public string DirectoryName
    {
        get
        {
            var name = new StringBuilder($"{Index:D3}");
            foreach (var (key, value) in Values)
                name.Append('-').Append(key.Split('.')[^1]).Append('=').Append(Text(value));
            var safe = new string(name.ToString().Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' or '=' ? c : '_').ToArray());
            return safe.Length > 120 ? safe[..120] : safe;
        }
    }

    /// <summary>A value as it appears in tables: the scalar, or compact YAML for lists and mappings.</summary>
    public static string Text(YamlNode node) => node switch
    {
        YamlScalarNode s => s.Value ?? "",
        YamlSequenceNode seq => "[" + string.Join(",", seq.Children.Select(Text)) + "]",
        YamlMappingNode map => "{" + string.Join(",", map.Children.Select(kv => $"{Text(kv.Key)}:{Text(kv.Value)}")) + "}",
        _ => node.ToString(),
    };
}

/// <summary>
/// Runs a <c>sweep:</c> — one experiment per point of the grid (the cartesian product of the swept key paths' values),
/// each in its own run directory under the sweep's output — and writes <c>sweep.csv</c> and <c>sweep.md</c> with one
/// row per point: the swept values, the ensemble's and the parent's test metrics, the mean child accuracy and the
/// wall time. Every point is validated before anything trains; finished points are kept when the sweep is run again
/// (so an interrupted sweep resumes), unless --force.
/// </summary>
public static class SweepRunner
{
    /// <summary>All points of the grid, first axis slowest.</summary>
    public static IReadOnlyList<SweepPoint> Points(IReadOnlyList<SweepAxis> axes)
    {
        IEnumerable<IReadOnlyList<(string, YamlNode)>> grid = [[]];
        foreach (var axis in axes)
            grid = grid.SelectMany(prefix => axis.Values.Select(v => (IReadOnlyList<(string, YamlNode)>)[.. prefix, (axis.KeyPath, v)])).ToList();
        return grid.Select((values, i) => new SweepPoint(i, values)).ToList();
    }

    /// <summary>Validates every point, then (when <paramref name="train"/>) runs them in order and writes the summary.</summary>
    public static int Run(RunRequest request, bool train, string name, IReadOnlyList<SweepAxis> axes, ILogger log, CancellationToken cancellation)
    {
        var points = Points(axes);
        var problems = new List<ConfigProblem>();
        foreach (var point in points)
        {
            try { Commands.Resolve(request, log, point); }
            catch (ConfigException e) { problems.AddRange(e.Problems.Select(p => p with { Message = p.Message + point.Suffix })); }
        }
        if (problems.Count > 0) throw new ConfigException(problems);
        if (!train)
        {
            var (code, _) = Commands.ExecuteOne(request, false, points[0], null, log, false, cancellation);
            Console.WriteLine($"{request.ConfigPath}: a sweep of {points.Count} points over {string.Join(" × ", axes.Select(a => $"{a.KeyPath} ({a.Values.Count})"))}; every point is valid");
            return code;
        }

        string directory = Path.GetFullPath(request.OutputDirectory ?? Path.Combine("runs", $"{name}-sweep-{DateTime.Now:yyyyMMdd-HHmmss}"));
        if (File.Exists(directory)) throw new UsageException($"output path {directory} is a file, expected a directory");
        Directory.CreateDirectory(directory);
        log.LogInformation("Sweep {Name}: {Count} points → {Directory}", name, points.Count, directory);
        var runs = new List<string>();
        foreach (var point in points)
        {
            log.LogInformation("Sweep point {Index}/{Count}: {Label}", point.Index + 1, points.Count, point.Label);
            var (code, run) = Commands.ExecuteOne(request, true, point, Path.Combine(directory, point.DirectoryName), log, keepFinished: true, cancellation);
            if (code != ExitCodes.Ok) return code;
            runs.Add(run!);
        }
        var (csv, markdown) = Summary(axes, points, runs);
        RunDirectory.WriteAllTextAtomic(Path.Combine(directory, "sweep.csv"), csv);
        RunDirectory.WriteAllTextAtomic(Path.Combine(directory, "sweep.md"), markdown);
        Console.WriteLine(markdown);
        log.LogInformation("Sweep summary: {Csv}, {Markdown}", Path.Combine(directory, "sweep.csv"), Path.Combine(directory, "sweep.md"));
        return ExitCodes.Ok;
    }

    /// <summary>The summary table as CSV and markdown, from each point's results.json.</summary>
    public static (string Csv, string Markdown) Summary(IReadOnlyList<SweepAxis> axes, IReadOnlyList<SweepPoint> points, IReadOnlyList<string> runs)
    {
        var results = runs.Select(r => ExperimentResults.Read(Path.Combine(r, "results.json"))).ToList();
        var metrics = results[0].Ensemble.Metrics.Where(kv => double.IsFinite(kv.Value)).Select(kv => kv.Key).ToList();
        var parentMetrics = metrics.Where(m => double.IsFinite(results[0].Parent.Metrics.Find(m) ?? double.NaN)).ToList();
        var header = new List<string> { "point" };
        header.AddRange(axes.Select(a => a.KeyPath));
        header.AddRange(metrics.Select(m => "ensemble." + m));
        header.AddRange(parentMetrics.Select(m => "parent." + m));
        header.AddRange(["members", "child.accuracy.mean", "seconds"]);
        var rows = new List<List<string>>();
        for (int i = 0; i < points.Count; i++)
        {
            var r = results[i];
            var row = new List<string> { points[i].Index.ToString(CultureInfo.InvariantCulture) };
            row.AddRange(points[i].Values.Select(v => SweepPoint.Text(v.Value)));
            row.AddRange(metrics.Select(m => Number(r.Ensemble.Metrics.Find(m))));
            row.AddRange(parentMetrics.Select(m => Number(r.Parent.Metrics.Find(m))));
            var accuracies = r.Members.Select(m => m.Metrics.Find("accuracy")).OfType<double>().Where(double.IsFinite).ToList();
            row.Add(r.Ensemble.Members.ToString(CultureInfo.InvariantCulture));
            row.Add(accuracies.Count > 0 ? accuracies.Average().ToString("F4", CultureInfo.InvariantCulture) : "");
            row.Add(r.Seconds?.Total.ToString("F1", CultureInfo.InvariantCulture) ?? "");
            rows.Add(row);
        }
        var csv = new StringBuilder();
        csv.AppendLine(string.Join(',', header.Select(Csv)));
        foreach (var row in rows) csv.AppendLine(string.Join(',', row.Select(Csv)));
        var md = new StringBuilder();
        md.AppendLine("| " + string.Join(" | ", header) + " |");
        md.AppendLine("|" + string.Concat(header.Select(_ => "---|")));
        foreach (var row in rows) md.AppendLine("| " + string.Join(" | ", row.Select(c => c.Replace("|", "\\|"))) + " |");
        return (csv.ToString(), md.ToString());
    }

    /// <summary>A CSV cell, quoted when it holds a comma, quote or newline.</summary>
    internal static string Csv(string cell) => cell.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + cell.Replace("\"", "\"\"") + "\"" : cell;

    /// <summary>"0.1234", or empty when <paramref name="value"/> is absent or not finite (null in results.json).</summary>
    private static string Number(double? value) => value is double d && double.IsFinite(d) ? d.ToString("F4", CultureInfo.InvariantCulture) : "";
}
