using System.Globalization;

namespace SubnetworkEnsembles.Host.Benchmarks;

/// <summary>
/// T3L of <c>sne bench pruning-long</c>: T3 (dissertation Table 6.1) with a tuning budget long enough for the gradual
/// methods to spend most of it on the final mask, as the dissertation's ablation does (10–20 tuning epochs, T_anneal
/// 3–10): T3's parent (the MLP after 10 epochs of Adam 1e-3), 10 tuning epochs at a constant 1e-3, iterative pruning
/// and both annealings over the first 3 (linear random annealing, cosine temperature annealing as in the benchmark),
/// random and magnitude one-shot masks; output layer unpruned. Too long for the default suite (≈ 12 minutes per seed).
/// </summary>
public static class PruningBudgetTables
{
    private static readonly string[] Sparsities = ["0.5", "0.7", "0.9", "0.95", "0.98"];

    /// <summary>T3L.</summary>
    public static IReadOnlyList<BenchTable> Tables(SuiteSize size, Func<BenchRun, long, string> runDirectory) =>
    [
        new("T3L", "Pruning one subnetwork with a long tuning budget: test accuracy of the single tuned child (T3's parent; 10 tuning epochs, constant LR 1e-3, gradual methods over the first 3; output layer unpruned)",
            "dissertation ch. 6, Table 6.1 (20 tuning epochs, T_anneal / T_prune 3–10)", size.Seeds, seed => Cells(runDirectory, seed)),
    ];

    private static IEnumerable<BenchCell> Cells(Func<BenchRun, long, string> runDirectory, long seed)
    {
        string weights = Path.Combine(runDirectory(BenchmarkSuite.T3Parent, seed), "parent.ckpt");
        yield return new BenchCell("", "", BenchmarkSuite.T3Parent, []);   // trained first (shared with T3); not a row of this table
        var methods = new (string Row, string Slug, Func<string, string> Sampler, string Perturbation)[]
        {
            ("one-shot", "one-shot", Random, "prune"),
            ("iterative (3 stages)", "iterative", Random, "{type: iterative-prune, epochs: 3, order: random}"),
            ("random annealing (linear, 3 epochs)", "random-annealing", Random, "{type: random-anneal, anneal_epochs: 3, function: linear, per: step}"),
            ("temperature annealing (τ 0.5, cosine, 3 epochs)", "temperature-annealing", Random, "{type: temperature-anneal, tau: 0.5, anneal_epochs: 3, function: cosine, per: step}"),
            ("one-shot, magnitude", "one-shot-magnitude", s => $"{{type: magnitude, sparsity: {s}}}", "prune"),
        };
        foreach (var (row, slug, sampler, perturbation) in methods)
            foreach (var sparsity in Sparsities)
            {
                var run = new BenchRun($"t3l-{slug}-{sparsity}", "examples/baselines/prune-one-shot.yaml",
                    [$"parent.weights={weights}", "parent.epochs=0", $"children.sampler={sampler(sparsity)}", $"children.perturbation={perturbation}",
                     "children.tuning.schedule={type: constant, lr: 0.001}", "children.tuning.epochs=10", "reference_epochs=10"]);
                yield return new BenchCell(row, $"{double.Parse(sparsity, CultureInfo.InvariantCulture) * 100:0} %", run, [("acc", BenchmarkSuite.Ensemble("accuracy"))]);
            }
    }

    private static string Random(string sparsity) => $"{{type: bernoulli, sparsity: {sparsity}, exact_count: true}}";
}
