using System.Globalization;
using System.Text;
using Shouldly;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// Compact children through the whole pipeline: a spirals run whose children remove whole neurons (partition,
/// structure: neurons) stores, evaluates, predicts, grows and resumes them compact.
/// </summary>
public sealed class CompactChildrenRunTests
{
    private static readonly string[] Neurons = ["--set", "children.sampler.structure=neurons", "--set", "children.count=3", "--set", "children.keep=2"];

    [Trait("Category", "e2e")]
    [Fact]
    public void Neuron_partitioned_children_are_compact_small_on_disk_and_predicted_from_as_the_run_evaluated_them()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        var result = QuickSpirals.Run(run, null, Neurons);
        result.ExitCode.ShouldBe(0, result.Output);
        result.Stdout.ShouldContain("compact (");

        var results = Sne.Results(run);
        long parentForward = results["cost"]!["forward_flops_per_sample"]!.GetValue<long>();
        foreach (var member in results["members"]!.AsArray())
        {
            var compaction = member!["compaction"]!;
            compaction["compact"]!.GetValue<bool>().ShouldBeTrue();
            compaction["when"]!.GetValue<string>().ShouldBe("before tuning");
            // 2 → 64 → 64 → 64 → 2 with half of each hidden layer's neurons: 2·32 + 32·32 + 32·32 + 32·2 multiply-adds.
            compaction["layers"]!.AsObject().Select(kv => kv.Value!.AsArray().Select(n => n!.GetValue<long>()).ToArray())
                .ShouldAllBe(units => units[0] == 32 && units[1] == 64);
            member["forward_flops"]!.GetValue<long>().ShouldBe(2 * (2 * 32 + 32 * 32 + 32 * 32 + 32 * 2));
            member["tuning_forward_flops"]!.GetValue<long>().ShouldBe(member["forward_flops"]!.GetValue<long>());
            member["sparsity"]!.GetValue<double>().ShouldBe(0.5, 0.02);
            compaction["max_logit_difference"]!.GetValue<double>().ShouldBeLessThan(1e-4);
        }
        // Executed training FLOPs: the parent dense, the 3 children compact (2 epochs on 2 250 rows each).
        var flops = results["cost"]!["training_flops"]!;
        flops["children"]!.GetValue<double>().ShouldBe(3 * 3.0 * 2 * (2 * 32 + 32 * 32 + 32 * 32 + 32 * 2) * 2250 * 2, 1);
        results["cost"]!["dense_equivalent_training_flops"]!["children"]!.GetValue<double>().ShouldBe(3 * 3.0 * parentForward * 2250 * 2, 1);
        results["cost"]!["inference_flops_per_sample"]!["dense_equivalent"]!.GetValue<long>().ShouldBe(3 * parentForward);

        long parentBytes = new FileInfo(Path.Combine(run, "parent.ckpt")).Length;
        foreach (int i in Enumerable.Range(0, 3))
            new FileInfo(Path.Combine(run, "children", $"child-{i:D3}.ckpt")).Length.ShouldBeLessThan(parentBytes / 3, $"child {i}");

        // sne predict loads the compact members and reproduces the evaluated ensemble on the test rows.
        using var data = TestData.Load(TestData.RunConfig(run).Data);
        var points = data.Test.Inputs.data<float>().ToArray();
        var csv = new StringBuilder("x,y\n");
        for (int i = 0; i < points.Length; i += 2)
            csv.Append(points[i].ToString("R", CultureInfo.InvariantCulture)).Append(',').Append(points[i + 1].ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        string input = dir.File("test-rows.csv", csv.ToString());
        PredictTests.PredictEqualsTheMeanOfTheSelectedMembers(run, input, data.Test.Labels.data<long>().ToArray(), expectedMembers: 2);

        // grow and report read compact children too.
        var grow = Sne.Run("grow", run, "--children", "1");
        grow.ExitCode.ShouldBe(0, grow.Output);
        Sne.Results(run)["members"]!.AsArray()[3]!["compaction"]!["compact"]!.GetValue<bool>().ShouldBeTrue();
        var report = Sne.Run("report", run);
        report.ExitCode.ShouldBe(0, report.Output);
        File.ReadAllText(Path.Combine(run, "report.html")).ShouldMatch(@"\(dense 3\)");   // inference ratio beside its dense equivalent: parent + 2 kept
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void A_run_of_compact_children_killed_inside_the_second_child_resumes_to_the_uninterrupted_run()
    {
        using var dir = new TempDir();
        string reference = Path.Combine(dir.Path, "reference"), killed = Path.Combine(dir.Path, "killed");
        QuickSpirals.Run(reference, null, Neurons).ExitCode.ShouldBe(0);
        // 36 steps an epoch, 2 epochs a child: step 100 of the children's tuning is inside child 2.
        var kill = QuickSpirals.Run(killed, "kill:child-step#100", Neurons);
        kill.ExitCode.ShouldBe(137, kill.Output);
        File.Exists(Path.Combine(killed, "children", "child-000.json")).ShouldBeTrue();
        File.Exists(Path.Combine(killed, "children", "child-001.json")).ShouldBeFalse();
        var again = QuickSpirals.Run(killed, null, Neurons);
        again.ExitCode.ShouldBe(0, again.Output);
        again.Stdout.ShouldContain("Child 1/3: done earlier");
        RunOutputs.ShouldMatch(killed, reference);
        File.ReadAllBytes(Path.Combine(killed, "children", "child-001.ckpt")).ShouldBe(File.ReadAllBytes(Path.Combine(reference, "children", "child-001.ckpt")));
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Compact_off_keeps_the_parent_shape_and_counts_children_dense()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        QuickSpirals.Run(run, null, [.. Neurons, "--set", "children.compact=off"]).ExitCode.ShouldBe(0);
        var results = Sne.Results(run);
        results["members"]!.AsArray().ShouldAllBe(m => m!["compaction"] == null);
        var cost = results["cost"]!;
        cost["training_flops"]!["total"]!.GetValue<double>().ShouldBe(cost["dense_equivalent_training_flops"]!["total"]!.GetValue<double>());
    }
}
