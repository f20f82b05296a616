namespace SubnetworkEnsembles.Host.Benchmarks;

/// <summary>
/// The ResNet tables of <c>sne bench resnet</c> (R1–R2): the T2 and T3 comparisons of the main suite with a CIFAR-style
/// ResNet-20 parent (0.27 M parameters, BatchNorm) on a Fashion-MNIST subset, at a budget a 2-core CPU finishes in about
/// 20 minutes. Adam 1e-3 and the same example files as T2/T3, with <c>model={type: resnet, depth: 20}</c>; the subset
/// sizes are the suite's overrides (<see cref="SuiteSize.ResnetSuite"/>).
/// </summary>
public static class ResnetTables
{
    private const string Model = "model={type: resnet, depth: 20}";
    private const int Epochs = 10;

    /// <summary>R1 (equal budget) and R2 (pruning one subnetwork).</summary>
    public static IReadOnlyList<BenchTable> Tables(SuiteSize size, Func<BenchRun, long, string> runDirectory) =>
    [
        new("R1", $"Equal budget with ResNet-20: {Epochs} epochs of one model (dense ensemble 4 × {Epochs}), Adam 1e-3",
            "dissertation ch. 5, Table 5.2 (WRN-28-10, CIFAR-10, 200 epochs: Independent 96.0 / 0.159 / 0.023, SSE 96.5 / 0.113 / 0.005 at 0.85× FLOPs, " +
            "Dense ensemble M = 4 96.6 / 0.114 / 0.010)", size.Seeds, _ => R1()),
        new("R2", "Pruning one ResNet-20 subnetwork: test accuracy of the single tuned child (parent: R1's independent model; 2 tuning epochs; output layer unpruned)",
            "dissertation ch. 6, Table 6.1 (ResNet-18, CIFAR-100, 50 % / 90 %: one-shot 0.640 / 0.553, temperature annealing 0.658 / 0.595)", size.Seeds,
            seed => R2(runDirectory, seed)),
    ];

    /// <summary>The independent ResNet-20 of R1, also R2's parent.</summary>
    private static readonly BenchRun Independent = new("r1-independent", "examples/baselines/independent.yaml", [Model, $"parent.epochs={Epochs}"]);

    private static IEnumerable<BenchCell> R1()
    {
        var runs = new (string Row, BenchRun Run)[]
        {
            ($"Independent ({Epochs} epochs)", Independent),
            ("SSE (NP + one-cycle, 6 + 4 × 1, parent a member)", new("r1-sse", "examples/fashion-mnist-sparse.yaml",
                [Model, "parent.epochs=6", "children.count=4", "children.tuning.epochs=1", "children.include_parent=true", $"reference_epochs={Epochs}"])),
            ($"Dense ensemble (M 4, 4 × {Epochs})", new("r1-dense-ensemble", "examples/baselines/dense-ensemble.yaml",
                [Model, $"parent.epochs={Epochs}", $"children.tuning.epochs={Epochs}", $"reference_epochs={Epochs}"])),
        };
        foreach (var (row, run) in runs)
            yield return new BenchCell(row, "", run,
            [
                ("Acc", BenchmarkSuite.Ensemble("accuracy")), ("NLL", BenchmarkSuite.Ensemble("nll")), ("ECE", BenchmarkSuite.Ensemble("ece")),
                ("epochs", BenchmarkSuite.TotalEpochs), ("train FLOPs (× one model)", BenchmarkSuite.TrainingFlopsRelative),
                ("members", BenchmarkSuite.EnsembleMembers),
            ]);
    }

    private static IEnumerable<BenchCell> R2(Func<BenchRun, long, string> runDirectory, long seed)
    {
        string weights = Path.Combine(runDirectory(Independent, seed), "parent.ckpt");
        yield return new BenchCell("", "", Independent, []);   // trained first (shared with R1); not a row of this table
        var methods = new (string Name, string Perturbation)[]
        {
            ("one-shot", "prune"),
            ("temperature annealing (τ 0.5)", "{type: temperature-anneal, tau: 0.5, anneal_epochs: 1, function: cosine, per: step}"),
        };
        foreach (var (method, perturbation) in methods)
            foreach (var sparsity in new[] { "0.5", "0.9" })
            {
                var run = new BenchRun($"r2-{BenchmarkSuite.Slug(method)}-{sparsity}", "examples/baselines/prune-one-shot.yaml",
                    [Model, $"parent.weights={weights}", "parent.epochs=0", $"children.sampler={{type: bernoulli, sparsity: {sparsity}, exact_count: true}}",
                     $"children.perturbation={perturbation}", "children.tuning.epochs=2", $"reference_epochs={Epochs}"]);
                yield return new BenchCell(method, sparsity == "0.5" ? "50 %" : "90 %", run, [("acc", BenchmarkSuite.Ensemble("accuracy"))]);
            }
    }
}
