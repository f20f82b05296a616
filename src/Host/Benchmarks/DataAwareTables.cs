namespace SubnetworkEnsembles.Host.Benchmarks;

/// <summary>
/// The data-aware tables of <c>sne bench data-aware</c> (D1–D2): the saliency samplers (snip, fisher, grasp, synflow) and
/// RigL's drop-and-regrow against random and magnitude masks, with T3's parent (the MLP after 10 epochs of Adam 1e-3)
/// on all of Fashion-MNIST. D1 prunes one subnetwork (T3's budget: 2 tuning epochs, constant 1e-3, output layer
/// unpruned); D2 uses each ϕ for a Sparse Subnetwork Ensemble of 4 children in 2-way sets (2 tuning epochs, one-cycle),
/// the children alone (include_parent: false, as published before the parent became a member by default).
/// </summary>
public static class DataAwareTables
{
    private static readonly string[] Sparsities = ["0.5", "0.9", "0.98"];

    /// <summary>D1 (one pruned child) and D2 (SSE ϕ).</summary>
    public static IReadOnlyList<BenchTable> Tables(SuiteSize size, Func<BenchRun, long, string> runDirectory) =>
    [
        new("D1", "Pruning one subnetwork by data-aware ϕ/ξ: test accuracy of the single tuned child (T3's parent and budget: 2 tuning epochs, constant LR, output layer unpruned)",
            "dissertation ch. 6, Table 6.1 (random masks only); SNIP (Lee et al. 2019), GraSP (Wang et al. 2020), SynFlow (Tanaka et al. 2020), RigL (Evci et al. 2020)",
            size.Seeds, seed => D1(runDirectory, seed)),
        new("D2", "Data-aware ϕ in a Sparse Subnetwork Ensemble: 4 children of T3's parent in 2-way sets at 50 %, pruned and tuned 2 epochs (one-cycle)",
            "dissertation ch. 5 (Neural Partitioning with random masks)", size.Seeds, seed => D2(runDirectory, seed)),
    ];

    private static IEnumerable<BenchCell> D1(Func<BenchRun, long, string> runDirectory, long seed)
    {
        string weights = Path.Combine(runDirectory(BenchmarkSuite.T3Parent, seed), "parent.ckpt");
        yield return new BenchCell("", "", BenchmarkSuite.T3Parent, []);   // trained first (shared with T3); not a row of this table
        var methods = new (string Row, string Slug, Func<string, string> Sampler, string Perturbation)[]
        {
            ("random", "random", s => $"{{type: bernoulli, sparsity: {s}, exact_count: true}}", "prune"),
            ("magnitude (layerwise)", "magnitude", s => $"{{type: magnitude, sparsity: {s}}}", "prune"),
            ("magnitude (global)", "magnitude-global", s => $"{{type: magnitude, sparsity: {s}, scope: global}}", "prune"),
            ("snip", "snip", s => $"{{type: snip, sparsity: {s}}}", "prune"),
            ("fisher", "fisher", s => $"{{type: fisher, sparsity: {s}}}", "prune"),
            ("grasp", "grasp", s => $"{{type: grasp, sparsity: {s}}}", "prune"),
            ("synflow", "synflow", s => $"{{type: synflow, sparsity: {s}}}", "prune"),
            ("random + rigl", "random-rigl", s => $"{{type: bernoulli, sparsity: {s}, exact_count: true}}", "{type: rigl, update_interval: 100}"),
            ("snip + rigl", "snip-rigl", s => $"{{type: snip, sparsity: {s}}}", "{type: rigl, update_interval: 100}"),
        };
        foreach (var (row, slug, sampler, perturbation) in methods)
            foreach (var sparsity in Sparsities)
            {
                var run = new BenchRun($"d1-{slug}-{sparsity}", "examples/baselines/prune-one-shot.yaml",
                    [$"parent.weights={weights}", "parent.epochs=0", $"children.sampler={sampler(sparsity)}", $"children.perturbation={perturbation}",
                     "children.tuning.epochs=2", "reference_epochs=10"]);
                yield return new BenchCell(row, $"{double.Parse(sparsity, System.Globalization.CultureInfo.InvariantCulture) * 100:0} %", run,
                    [("acc", BenchmarkSuite.Ensemble("accuracy"))]);
            }
    }

    private static IEnumerable<BenchCell> D2(Func<BenchRun, long, string> runDirectory, long seed)
    {
        string weights = Path.Combine(runDirectory(BenchmarkSuite.T3Parent, seed), "parent.ckpt");
        yield return new BenchCell("", "", BenchmarkSuite.T3Parent, []);
        var methods = new (string Row, string Slug, string Sampler, string Perturbation)[]
        {
            ("random 2-way partition", "random", "{type: partition, k: 2}", "prune"),
            ("snip, 2-way by rank", "snip", "{type: snip, set_size: 2}", "prune"),
            ("fisher, 2-way by rank", "fisher", "{type: fisher, set_size: 2}", "prune"),
            ("grasp, 2-way by rank", "grasp", "{type: grasp, set_size: 2}", "prune"),
            ("synflow, 2-way by rank", "synflow", "{type: synflow, set_size: 2}", "prune"),
            ("snip top 50 % (set size 1)", "snip-top", "{type: snip, sparsity: 0.5}", "prune"),
            ("random 2-way partition + rigl", "random-rigl", "{type: partition, k: 2}", "{type: rigl, update_interval: 100}"),
        };
        foreach (var (row, slug, sampler, perturbation) in methods)
        {
            var run = new BenchRun($"d2-{slug}", "examples/fashion-mnist-sparse.yaml",
                [$"parent.weights={weights}", "parent.epochs=0", "children.count=4", "children.include_parent=false", $"children.sampler={sampler}", $"children.perturbation={perturbation}",
                 "children.tuning.epochs=2", "reference_epochs=10", "metrics=[accuracy, nll, {type: ece, bins: 15}, disagreement]"]);
            yield return new BenchCell(row, "", run,
            [
                ("Acc", BenchmarkSuite.Ensemble("accuracy")), ("NLL", BenchmarkSuite.Ensemble("nll")), ("ECE", BenchmarkSuite.Ensemble("ece")),
                ("disagreement", BenchmarkSuite.Ensemble("disagreement")), ("mean member Acc", BenchmarkSuite.MeanMember("accuracy")),
            ]);
        }
    }
}
