using System.Text.Json.Nodes;
using Shouldly;
using SubnetworkEnsembles.Experiments.Results;
using SubnetworkEnsembles.Host.Benchmarks;
using SubnetworkEnsembles.Host.Reporting;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>The host's readers of the typed results: report tables, metrics.jsonl records and benchmark cells.</summary>
public class TypedResultsReadersTests
{
    private static MetricValues Metrics(params (string Name, double Value)[] values) => new(values.Select(v => KeyValuePair.Create(v.Name, v.Value)));

    private static readonly TrainingEpoch[] History = [new() { Epoch = 1, Loss = 0.5, Accuracy = 0.75, Lr = 0.01, Seconds = 1 }];

    /// <summary>
    /// A run with a NaN ensemble metric (null in results.json), a failed child, the parent as a member, MC dropout,
    /// corrupted test sets and a trust-region search whose first row is the chosen one.
    /// </summary>
    private static ExperimentResults Sample() => new()
    {
        Name = "sample", Seed = 7,
        Parent = new ParentResult
        {
            Metrics = Metrics(("accuracy", 0.9), ("nll", 0.3), ("brier", double.NaN)), TrainRows = 100, History = History,
            McDropout = new McDropoutResult { Samples = 4, Metrics = Metrics(("accuracy", 0.91), ("nll", 0.29)) },
        },
        Members =
        [
            new MemberResult { Index = 0, TrainRows = 90, Metrics = Metrics(("accuracy", 0.8), ("nll", 0.4)), ValidationNll = 0.45, Sparsity = 0.5, Seconds = 2, History = History, Selected = true },
            new MemberResult { Index = 1, Failed = "TrainingDivergedException: loss is NaN", Selected = false },
            new MemberResult { Index = 2, TrainRows = 90, Metrics = Metrics(("accuracy", 0.6), ("nll", 0.7)), Sparsity = 0.5, Seconds = 3, Selected = true },
        ],
        Ensemble = new EnsembleResult
        {
            Combiner = "vote", Members = 3, IncludesParent = true, MemberIndices = [-1, 0, 2],
            Metrics = Metrics(("accuracy", 0.85), ("nll", double.NaN), ("brier", 0.2)),
        },
        Corrupted = new CorruptedResults
        {
            Sets = 3, Parent = Metrics(("accuracy", 0.5), ("nll", double.NaN)), Ensemble = Metrics(("accuracy", 0.6), ("nll", 1.25)),
            ParentMcDropout = Metrics(("accuracy", 0.55)),
        },
        TrustRegion = new TrustRegionReport
        {
            TargetKl = 0.02, Chosen = new TrustRegionSetting { Sigma = 0.01, Kl = 0.015 },
            Table = [new() { Sigma = 0.01, Sparsity = 0.5, Kl = 0.015, Accuracy = 0.8, WithinTarget = true, Chosen = true }, new() { Sigma = 0.02, Sparsity = 0.5, Kl = 0.05, Accuracy = 0.7 }],
        },
        Seconds = new RunSeconds { Data = 1, Parent = 2, Children = 3, Ensemble = 0.5, Total = 6.5 },
    };

    [Trait("Category", "unit")]
    [Fact]
    public void Report_tables_leave_non_finite_and_absent_values_empty_and_keep_the_columns_of_results_json()
    {
        var tables = ReportTables.Of(Sample()).ToDictionary(t => t.Title.Split(" (")[0], t => t.Rows);

        var metrics = tables["Test metrics"];
        metrics[0].ShouldBe(["model", "accuracy", "brier"]);                     // nll is null in the ensemble: not a column
        metrics[1].ShouldBe(["parent", "0.9000", ""]);                           // the parent's brier is null
        metrics[2].ShouldBe(["ensemble (3 members, vote)", "0.8500", "0.2000"]);

        var children = tables["Children"];
        children[0].ShouldBe(["child", "selected", "accuracy", "sparsity", "seconds"]);   // no child has a brier
        children[1].ShouldBe(["0", "yes", "0.8000", "0.5000", "2.0000"]);
        children[2].ShouldBe(["1", "no", "", "", ""]);

        tables["Corrupted test sets"].ShouldBe([["model", "caccuracy", "cnll"], ["parent", "0.5000", ""], ["ensemble", "0.6000", "1.2500"]]);
        tables["Wall time"][0].ShouldBe(["data", "parent", "trust_region", "children", "ensemble", "total"]);
        tables["Wall time"][1].ShouldBe(["1.0000", "2.0000", "0.0000", "3.0000", "0.5000", "6.5000"]);
        tables["Trust-region search"].ShouldBe(
        [
            ["sigma", "sparsity", "kl", "accuracy", "within_target", "admissible", "chosen"],
            ["0.0100", "0.5000", "0.0150", "0.8000", "yes", "–", "yes"],       // admissible: absent in results written before it existed
            ["0.0200", "0.5000", "0.0500", "0.7000", "no", "–", ""],
        ]);
        tables.ContainsKey("Cost").ShouldBeFalse();
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Metrics_jsonl_records_write_non_finite_epoch_values_as_null_and_leave_them_out_of_test_records()
    {
        var results = Sample() with { Parent = Sample().Parent with { History = [History[0] with { Loss = double.NaN }] } };
        var lines = TrainingLogs.Records(results).Select(r => r.ToJsonLine()).ToList();

        lines[0].ShouldBe("""{"stage":"parent","child":null,"epoch":1,"step":1,"split":"train","loss":null,"accuracy":0.75,"lr":0.01,"seconds":1}""");
        lines[1].ShouldBe("""{"stage":"child","child":0,"epoch":1,"step":2,"split":"train","loss":0.5,"accuracy":0.75,"lr":0.01,"seconds":1}""");
        lines[2].ShouldBe("""{"stage":"parent","child":null,"step":1,"split":"test","accuracy":0.9,"nll":0.3,"train_rows":100}""");
        lines[3].ShouldBe("""{"stage":"child","child":0,"step":2,"split":"test","train_rows":90,"accuracy":0.8,"nll":0.4,"validation_nll":0.45,"sparsity":0.5}""");
        lines[4].ShouldBe("""{"stage":"child","child":1,"step":1,"split":"test"}""");
        lines[6].ShouldBe("""{"stage":"ensemble","child":null,"step":3,"split":"test","accuracy":0.85,"brier":0.2}""");
        TrainingLogs.Records(results).Select(r => r.Tag).Distinct().ShouldBe(["parent", "child-000", "child-001", "child-002", "ensemble"], ignoreOrder: true);
        JsonNode.Parse(lines[5])!["child"]!.GetValue<int>().ShouldBe(2);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Benchmark_cells_read_the_typed_results_of_each_table()
    {
        var results = Sample();
        var tables = BenchmarkSuite.Tables(SuiteSize.Smoke, (run, seed) => Path.Combine(Path.GetTempPath(), run.Name));
        double?[] Read(string table, string rowStart) =>
            tables.Single(t => t.Id == table).Cells(0).First(c => c.Row.StartsWith(rowStart, StringComparison.Ordinal)).Values.Select(v => v.Read(results, "")).ToArray();

        // T2, MC dropout: Acc NLL ECE from parent.mc_dropout, cAcc cNLL cECE from corrupted.parent_mc_dropout, no cost, 16 members.
        // The children-only columns read predictions/members.npy, which this run directory does not have: not available.
        Read("T2", "MC dropout").ShouldBe([0.91, 0.29, null, 0.55, null, null, null, null, 16, null, null, null]);
        // T2, an ensemble: from ensemble and corrupted.ensemble; its NaN NLL is not available.
        Read("T2", "SSE").ShouldBe([0.85, null, null, 0.6, 1.25, null, null, null, 3, null, null, null]);
        // T4: parent and ensemble, then the trust region's chosen σ and KL.
        Read("T4", "MLP").ShouldBe([0.9, 0.85, 0.3, null, null, null, 0.01, 0.015, null, null]);
        // T5: the mean member accuracy counts the parent (a member here) and skips the failed child: (0.8 + 0.6 + 0.9) / 3.
        var t5 = Read("T5", "SSE");
        t5[3].ShouldBe(0.85);
        t5[4]!.Value.ShouldBe((0.8 + 0.6 + 0.9) / 3, 1e-12);
    }
}
