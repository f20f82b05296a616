using System.Globalization;
using SubnetworkEnsembles.Host.Reporting;

namespace SubnetworkEnsembles.Host.Benchmarks;

/// <summary>One experiment of a suite: an example configuration plus --set overrides; runs named alike are shared by cells.</summary>
public sealed record BenchRun(string Name, string Config, IReadOnlyList<string> Overrides);

/// <summary>Reads one number from a finished run (its results.json and directory); null = not available.</summary>
public delegate double? CellReader(ExperimentResults results, string runDirectory);

/// <summary>One cell of a table for one seed: row × column, the run it comes from and the metrics read from it.</summary>
public sealed record BenchCell(string Row, string Column, BenchRun Run, IReadOnlyList<(string Metric, CellReader Read)> Values);

/// <summary>A table of the suite: its cells for a given seed, how many seeds it needs, and notes printed under it.</summary>
public sealed record BenchTable(string Id, string Title, string Reference, int Seeds, Func<long, IEnumerable<BenchCell>> Cells)
{
    /// <summary>Extra markdown written under the table from the finished runs (e.g. T5's correlation matrices).</summary>
    public Func<Func<BenchRun, long, string>, string>? Appendix { get; init; }
}

/// <summary>The table sets of <c>sne bench</c>.</summary>
public enum TableSet
{
    /// <summary>T1–T7 (<see cref="BenchmarkSuite"/>).</summary>
    Main,
    /// <summary>R1–R2 with ResNet-20 (<see cref="ResnetTables"/>).</summary>
    Resnet,
    /// <summary>D1–D2, the data-aware ϕ/ξ (<see cref="DataAwareTables"/>).</summary>
    DataAware,
    /// <summary>T3L, T3 with a long tuning budget (<see cref="PruningBudgetTables"/>).</summary>
    PruningLong,
}

/// <summary>
/// Suites: <c>default</c> (the tables of docs/RESULTS.md, ≈ 1.5 h on 2 cores), <c>smoke</c> (every table, 1 seed, tiny
/// data; CI), <c>resnet</c> (the ResNet-20 tables R1–R2 on a Fashion-MNIST subset, ≈ 20 min), <c>resnet-smoke</c>
/// (R1–R2 on tiny data) and <c>data-aware</c> (D1–D2: SNIP, SynFlow, Fisher, GraSP and RigL against random and
/// magnitude masks, ≈ 20 min) and <c>pruning-long</c> (T3L: T3 with 10 tuning epochs, ≈ 12 min per seed).
/// </summary>
public sealed record SuiteSize(string Name, int Seeds, int T2Seeds, IReadOnlyList<string> Overrides, TableSet Set = TableSet.Main)
{
    /// <summary>The full-size suite: all of Fashion-MNIST, 3 seeds (2 for T2/T5).</summary>
    public static readonly SuiteSize Default = new("default", 3, 2, []);

    /// <summary>Every table on 1000 training / 500 validation / 500 test rows, 1 seed, 3 corruption severities.</summary>
    public static readonly SuiteSize Smoke = new("smoke", 1, 1,
        ["data.train_subset=1000", "data.validation=500", "data.test_subset=500"]);

    /// <summary>R1–R2 with ResNet-20 on 6,000 training / 1,000 validation / 5,000 test rows of Fashion-MNIST, 1 seed.</summary>
    public static readonly SuiteSize ResnetSuite = new("resnet", 1, 1,
        ["data.train_subset=6000", "data.validation=1000", "data.test_subset=5000"], TableSet.Resnet);

    /// <summary>R1–R2 on 64 training / 64 validation / 64 test rows (CI).</summary>
    public static readonly SuiteSize ResnetSmoke = new("resnet-smoke", 1, 1,
        ["data.train_subset=64", "data.validation=64", "data.test_subset=64"], TableSet.Resnet);

    /// <summary>D1–D2 on all of Fashion-MNIST with T3's parent and budget, 2 seeds.</summary>
    public static readonly SuiteSize DataAware = new("data-aware", 2, 2, [], TableSet.DataAware);

    /// <summary>T3L on all of Fashion-MNIST with T3's parent, 1 seed (≈ 12 minutes per seed).</summary>
    public static readonly SuiteSize PruningLong = new("pruning-long", 1, 1, [], TableSet.PruningLong);

    /// <summary>By name.</summary>
    public static SuiteSize Named(string name) => name switch
    {
        "default" => Default,
        "smoke" => Smoke,
        "resnet" => ResnetSuite,
        "resnet-smoke" => ResnetSmoke,
        "data-aware" => DataAware,
        "pruning-long" => PruningLong,
        _ => throw new UsageException($"unknown suite '{name}': expected default, smoke, resnet, resnet-smoke, data-aware or pruning-long"),
    };
}

/// <summary>
/// The benchmark suite of dissertation ch. 4–7 on Fashion-MNIST (T1–T7), built from the files in examples/ and
/// examples/baselines/ plus overrides, so every cell is a plain <c>sne run FILE --set … --seed S</c>.
/// Budgets (epochs over the 55 000 training rows, Adam 1e-3 unless stated) are chosen so the default suite fits about
/// 1.5 hours on 2 CPU cores; the dissertation's budgets are in each table's reference line.
/// </summary>
public static class BenchmarkSuite
{
    private static readonly string[] Sparsities = ["0.5", "0.7", "0.9", "0.95", "0.98"];

    /// <summary>The tables, in the order they run. <paramref name="runDirectory"/> maps a run and a seed to its directory (T3 reuses a parent).</summary>
    public static IReadOnlyList<BenchTable> Tables(SuiteSize size, Func<BenchRun, long, string> runDirectory)
    {
        if (size.Set == TableSet.Resnet) return ResnetTables.Tables(size, runDirectory);
        if (size.Set == TableSet.DataAware) return DataAwareTables.Tables(size, runDirectory);
        if (size.Set == TableSet.PruningLong) return PruningBudgetTables.Tables(size, runDirectory);
        bool smoke = size == SuiteSize.Smoke;
        string corruptions = smoke ? "corruptions={severities: [1, 3, 5]}" : "corruptions={}";
        string region = smoke ? "children.trust_region.samples=200" : "children.trust_region.samples=1000";
        return
        [
            new("T1", "Small budget: 16 epochs in all, 8 members, Adam 1e-3 constant", "dissertation ch. 5, Table 5.1", size.Seeds, _ => [.. T1("MLP", []), .. T1("LeNet-S", ["model.type=lenet", "model.size=small"])]),
            new("T2", "Equal budget (12 epochs of one model; dense ensemble 4 × 12) with Fashion-MNIST-C", "dissertation ch. 5–6, Tables 5.2 / 6.2", size.T2Seeds, _ => T2(corruptions)),
            new("T3", "Pruning one subnetwork: test accuracy of the single tuned child (MLP, parent 10 epochs, 2 tuning epochs, output layer unpruned)", "dissertation ch. 6, Table 6.1", size.Seeds, seed => T3(runDirectory, seed)),
            new("T4", "Noisy Subnetwork Ensembles: parent vs ensemble (parent + best 8 of 16 by validation accuracy; σ: best holdout accuracy with KL near 0.02 on a separate 1000-row holdout)", "dissertation ch. 4, Table 4.1", size.Seeds, _ => T4(region)),
            new("T5", "Diversity of the T2 ensembles (test set)", "dissertation ch. 7, Table 7.1", size.T2Seeds, _ => T5(corruptions)) { Appendix = dir => CorrelationMatrices(dir, corruptions) },
            new("T6", "Ensemble size: the parent and the first k of 64 children (MLP, parent 10 epochs, partition k = 2 at 50 %, 1 tuning epoch each)", "dissertation ch. 5, Fig. 5.5", size.Seeds, _ => T6()),
            RepresentationTables.Table(size),
        ];
    }

    private static IEnumerable<BenchCell> T1(string model, IReadOnlyList<string> modelOverrides)
    {
        string slug = model.ToLowerInvariant();
        const string constant = "children.tuning.schedule={type: constant, lr: 0.001}";
        var runs = new (string Row, string File, string[] Overrides)[]
        {
            ("Independent (16 epochs)", "examples/baselines/independent.yaml", ["parent.epochs=16"]),
            ("Dropout 0.5 (16 epochs)", "examples/baselines/dropout.yaml", ["parent.epochs=16", "mc_dropout=0"]),
            ("Bagging (8 × 2 epochs, 90 % subsets)", "examples/baselines/bagging.yaml", []),
            ("SSE-R (8 + 8 × 1, 50 % random)", "examples/fashion-mnist-sparse.yaml",
                ["parent.epochs=8", "children.count=8", "children.sampler={type: bernoulli, sparsity: 0.5}", "children.tuning.epochs=1", constant, "reference_epochs=16"]),
            ("SSE-NP (8 + 4 pairs × 1, partition)", "examples/fashion-mnist-sparse.yaml",
                ["parent.epochs=8", "children.count=8", "children.sampler={type: partition, k: 2}", "children.tuning.epochs=1", constant, "reference_epochs=16"]),
        };
        // LeNet on 20 000 training rows keeps T1 within the suite's time budget on 2 cores (≈ 2.7 s per epoch instead of 7.3 s).
        var data = model == "MLP" ? Array.Empty<string>() : ["data.train_subset=20000"];
        foreach (var (row, file, overrides) in runs)
        {
            var run = new BenchRun($"t1-{slug}-{Slug(row)}", file, [.. modelOverrides, .. data, .. overrides]);
            yield return new BenchCell($"{model}: {row}", "", run, Clean());
        }
    }

    private static readonly (string Row, string File, string[] Overrides, string Source)[] T2Runs =
    [
        ("Independent", "examples/baselines/independent.yaml", ["parent.epochs=12"], "ensemble"),
        ("MC dropout (p 0.2, T 16)", "examples/baselines/dropout.yaml", ["parent.epochs=12", "model.dropout=0.2", "mc_dropout=16"], "mc"),
        ("Snapshot (4 cycles × 3)", "examples/baselines/snapshot.yaml", ["parent.epochs=3", "children.count=3", "children.tuning.epochs=3"], "ensemble"),
        ("FGE (8 + ½ + 3 cycles × 1)", "examples/baselines/fge.yaml", ["parent.epochs=8", "children.count=4", "children.tuning.epochs=1"], "ensemble"),
        ("SSE (NP + one-cycle, 8 + 4 × 1)", "examples/fashion-mnist-sparse.yaml", ["parent.epochs=8", "children.count=4", "children.tuning.epochs=1"], "ensemble"),
        ("Stochastic annealing (τ 0.5, 8 + 4 × 1)", "examples/stochastic-temperature.yaml",
            ["parent.epochs=8", "children.count=4", "children.tuning.epochs=1",
             "children.perturbation={type: temperature-anneal, tau: 0.5, anneal_epochs: 0.3, function: cosine, per: step}"], "ensemble"),
        ("Dense ensemble (M 4, 4 × 12)", "examples/baselines/dense-ensemble.yaml", ["parent.epochs=12", "children.tuning.epochs=12"], "ensemble"),
    ];

    private static BenchRun T2Run(int i, string corruptions) => new($"t2-{Slug(T2Runs[i].Row)}", T2Runs[i].File,
        [.. T2Runs[i].Overrides, "reference_epochs=12", corruptions,
         "metrics=[accuracy, nll, {type: ece, bins: 15}, disagreement, kl-diversity, correlation]"]);

    private static IEnumerable<BenchCell> T2(string corruptions)
    {
        for (int i = 0; i < T2Runs.Length; i++)
        {
            bool mc = T2Runs[i].Source == "mc";
            Func<ExperimentResults, MetricValues?> clean = mc ? r => r.Parent.McDropout?.Metrics : r => r.Ensemble.Metrics;
            Func<ExperimentResults, MetricValues?> corrupted = mc ? r => r.Corrupted?.ParentMcDropout : r => r.Corrupted?.Ensemble;
            yield return new BenchCell(T2Runs[i].Row, "", T2Run(i, corruptions),
            [
                ("Acc", Metric(clean, "accuracy")), ("NLL", Metric(clean, "nll")), ("ECE", Metric(clean, "ece")),
                ("cAcc", Metric(corrupted, "accuracy")), ("cNLL", Metric(corrupted, "nll")), ("cECE", Metric(corrupted, "ece")),
                ("train FLOPs (× one model)", TrainingFlopsRelative), ("epochs", TotalEpochs),
                ("members", mc ? (_, _) => 16 : EnsembleMembers),
                ("Acc w/o parent", WithoutParent(m => m.Accuracy)), ("NLL w/o parent", WithoutParent(m => m.Nll)), ("ECE w/o parent", WithoutParent(m => m.Ece)),
            ]);
        }
    }

    /// <summary>T3's parent: the independent MLP after 10 epochs (D1–D2 prune it too).</summary>
    internal static readonly BenchRun T3Parent = new("t3-parent", "examples/baselines/independent.yaml", ["parent.epochs=10"]);

    private static IEnumerable<BenchCell> T3(Func<BenchRun, long, string> runDirectory, long seed)
    {
        var parent = T3Parent;
        string weights = Path.Combine(runDirectory(parent, seed), "parent.ckpt");
        yield return new BenchCell("", "", parent, []);   // trained first; not a row of the table
        const string random = "{type: bernoulli, sparsity: S, exact_count: true}", magnitude = "{type: magnitude, sparsity: S}";
        var methods = new (string Name, string Slug, string Sampler, string Perturbation)[]
        {
            ("one-shot", "one-shot", random, "prune"),
            ("iterative (2 stages)", "iterative", random, "{type: iterative-prune, epochs: 2, order: random}"),
            ("random annealing (linear)", "random-annealing-linear", random, "{type: random-anneal, anneal_epochs: 1, function: linear, per: step}"),
            ("temperature annealing (τ 0.5)", "temperature-annealing", random, "{type: temperature-anneal, tau: 0.5, anneal_epochs: 1, function: cosine, per: step}"),
            ("one-shot, magnitude", "one-shot-magnitude", magnitude, "prune"),
            ("iterative (2 stages), magnitude", "iterative-magnitude", magnitude, "{type: iterative-prune, epochs: 2, order: magnitude}"),
        };
        var schedules = new (string Name, string Schedule)[]
        {
            ("constant", "{type: constant, lr: 0.001}"),
            ("one-cycle", "{type: one-cycle, lr_init: 1.0e-5, lr_max: 0.001, lr_min: 1.0e-7, warmup: 0.1}"),
        };
        foreach (var (schedule, scheduleYaml) in schedules)
            foreach (var (method, slug, sampler, perturbation) in methods)
                foreach (var sparsity in Sparsities)
                {
                    var run = new BenchRun($"t3-{slug}-{schedule}-{sparsity}", "examples/baselines/prune-one-shot.yaml",
                        [$"parent.weights={weights}", "parent.epochs=0", $"children.sampler={sampler.Replace("S", sparsity, StringComparison.Ordinal)}",
                         $"children.perturbation={perturbation}", $"children.tuning.schedule={scheduleYaml}", "children.tuning.epochs=2", "reference_epochs=10"]);
                    yield return new BenchCell($"{method}, {schedule} LR", $"{double.Parse(sparsity, CultureInfo.InvariantCulture) * 100:0} %", run,
                        [("acc", Ensemble("accuracy"))]);
                }
    }

    private static IEnumerable<BenchCell> T4(string region)
    {
        var models = new (string Name, string[] Overrides)[]
        {
            ("MLP 512-512 (10 epochs)", ["parent.epochs=10"]),
            ("LeNet-S (3 epochs)", ["model.type=lenet", "model.size=small", "parent.epochs=3"]),
            ("LeNet-M (2 epochs)", ["model.type=lenet", "model.size=medium", "parent.epochs=2"]),
            ("LeNet-L (1 epoch)", ["model.type=lenet", "model.size=large", "parent.epochs=1"]),
        };
        foreach (var (name, overrides) in models)
        {
            var run = new BenchRun($"t4-{Slug(name)}", "examples/noisy.yaml", [.. overrides, region, "metrics=[accuracy, nll, {type: ece, bins: 15}]"]);
            yield return new BenchCell(name, "", run,
            [
                ("parent Acc", Parent("accuracy")), ("ens. Acc", Ensemble("accuracy")),
                ("parent NLL", Parent("nll")), ("ens. NLL", Ensemble("nll")),
                ("parent ECE", Parent("ece")), ("ens. ECE", Ensemble("ece")),
                ("σ", Value(r => r.TrustRegion?.Chosen.Sigma)), ("KL", Value(r => r.TrustRegion?.Chosen.Kl)),
                ("ens. Acc w/o parent", WithoutParent(m => m.Accuracy)), ("ens. NLL w/o parent", WithoutParent(m => m.Nll)),
            ]);
        }
    }

    private static IEnumerable<BenchCell> T5(string corruptions)
    {
        for (int i = 0; i < T2Runs.Length; i++)
        {
            if (T2Runs[i].Source == "mc" || T2Runs[i].Row == "Independent") continue;   // one network: no pairwise diversity
            yield return new BenchCell(T2Runs[i].Row, "", T2Run(i, corruptions),
                [("disagreement", Ensemble("disagreement")), ("KL", Ensemble("kl_diversity")), ("correlation", Ensemble("correlation")),
                 ("ens. Acc", Ensemble("accuracy")), ("mean member Acc", MeanMember("accuracy"))]);
        }
    }

    private static string CorrelationMatrices(Func<BenchRun, long, string> runDirectory, string corruptions)
    {
        var text = new System.Text.StringBuilder("\nPairwise output correlation between members (seed 0, test set; member −1 is the parent where it is a member):\n");
        for (int i = 0; i < T2Runs.Length; i++)
        {
            string file = Path.Combine(runDirectory(T2Run(i, corruptions), 0), "results.json");
            if (!File.Exists(file)) continue;
            var ensemble = ExperimentResults.Read(file).Ensemble;
            if (ensemble.Pairwise?.GetValueOrDefault("correlation") is not { } matrix) continue;
            var names = ensemble.MemberIndices.Select(RunReport.MemberName).ToList();
            text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"{T2Runs[i].Row}:").AppendLine();
            text.AppendLine("| | " + string.Join(" | ", names) + " |").AppendLine("|---|" + string.Concat(names.Select(_ => "---|")));
            for (int r = 0; r < matrix.Length; r++)
                text.AppendLine($"| {names[r]} | " + string.Join(" | ", matrix[r].Select((v, c) => c == r ? "·" : Finite(v)?.ToString("F3", CultureInfo.InvariantCulture) ?? "")) + " |");
        }
        return text.ToString();
    }

    private static IEnumerable<BenchCell> T6()
    {
        var run = new BenchRun("t6-64-children", "examples/fashion-mnist-sparse.yaml", ["parent.epochs=10", "children.count=64", "children.tuning.epochs=1"]);
        // members.npy holds the parent first when it is a member: the first k children are its first k + 1 rows.
        // Row 0 is the parent alone (none when it is not a member).
        static int Rows(ExperimentResults r, int k) => k + (r.Ensemble.IncludesParent ? 1 : 0);
        static CellReader Read(int k, Func<(double Accuracy, double Nll, double Ece), double> pick) =>
            (r, dir) => Rows(r, k) > 0 ? pick(FirstMembers.Of(dir, Rows(r, k))) : null;
        foreach (int k in new[] { 0, 1, 4, 8, 16, 32, 64 })
            yield return new BenchCell(k == 0 ? "0 (the parent)" : $"{k}", "", run,
                [("Acc", Read(k, m => m.Accuracy)), ("NLL", Read(k, m => m.Nll)), ("ECE", Read(k, m => m.Ece))]);
    }

    private static IReadOnlyList<(string, CellReader)> Clean() =>
        [("Acc", Ensemble("accuracy")), ("NLL", Ensemble("nll")), ("ECE", Ensemble("ece")), ("epochs", TotalEpochs),
         ("train FLOPs (× one model)", TrainingFlopsRelative), ("members", EnsembleMembers)];

    /// <summary>Metric <paramref name="metric"/> of the values <paramref name="source"/> picks (e.g. the ensemble's, or corrupted.ensemble); null when absent or not finite.</summary>
    public static CellReader Metric(Func<ExperimentResults, MetricValues?> source, string metric) => (results, _) => Finite(source(results)?.Find(metric));

    /// <summary>The number <paramref name="read"/> takes from the results; null when absent or not finite.</summary>
    public static CellReader Value(Func<ExperimentResults, double?> read) => (results, _) => Finite(read(results));

    internal static CellReader Ensemble(string metric) => Metric(r => r.Ensemble.Metrics, metric);

    internal static CellReader Parent(string metric) => Metric(r => r.Parent.Metrics, metric);

    internal static readonly CellReader EnsembleMembers = Value(r => r.Ensemble.Members);

    /// <summary>The ensemble of the children alone, recomputed from predictions/members.npy; null when the parent is not a member.</summary>
    internal static CellReader WithoutParent(Func<(double Accuracy, double Nll, double Ece), double> pick) =>
        (results, dir) => FirstMembers.WithoutParent(results, dir) is { } m ? pick(m) : null;

    internal static readonly CellReader TotalEpochs = Value(r => r.Cost?.Epochs?.Total);

    internal static readonly CellReader TrainingFlopsRelative = Value(r => r.Cost?.TrainingFlops?.RelativeToIndependent);

    /// <summary>The mean of <paramref name="metric"/> over the members that have it (and the parent, when it is a member).</summary>
    internal static CellReader MeanMember(string metric) => (results, _) =>
    {
        var values = results.Members.Select(m => Finite(m.Metrics.Find(metric))).OfType<double>().ToList();
        if (results.Ensemble.IncludesParent && Finite(results.Parent.Metrics.Find(metric)) is double p) values.Add(p);
        return values.Count > 0 ? values.Average() : null;
    };

    /// <summary><paramref name="value"/> when it is finite (results.json holds a non-finite number as null), otherwise null.</summary>
    private static double? Finite(double? value) => value is double d && double.IsFinite(d) ? d : null;

    /// <summary>"SSE-R (8 + 8 × 1, 50 % random)" → "sse-r".</summary>
    internal static string Slug(string row)
    {
        string head = row.Split(" (")[0].Split(',')[0];
        return new string(head.ToLowerInvariant().Select(c => char.IsLetterOrDigit(c) ? c : '-').ToArray()).Trim('-');
    }
}
