using System.Globalization;
using System.Text;
using Shouldly;
using SubnetworkEnsembles.Experiments.Pipeline;
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
    [SkippableFact]
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

        ExportsRoundTrip(run, data.Test.Inputs, dir);

        // grow and report read compact children too.
        var grow = Sne.Run("grow", run, "--children", "1");
        grow.ExitCode.ShouldBe(0, grow.Output);
        Sne.Results(run)["members"]!.AsArray()[3]!["compaction"]!["compact"]!.GetValue<bool>().ShouldBeTrue();
        var report = Sne.Run("report", run);
        report.ExitCode.ShouldBe(0, report.Output);
        File.ReadAllText(Path.Combine(run, "report.html")).ShouldMatch(@"\(dense 3\)");   // inference ratio beside its dense equivalent: parent + 2 kept
    }

    /// <summary>
    /// compact ↔ dense ↔ PyTorch: child 1 exported dense as a PyTorch state dict and compact as safetensors; PyTorch
    /// (python3-torch) computes, from each, the probabilities the run saved for that child on the test rows (1e-5); and
    /// the dense export read back into sne (as parent weights are) computes what the compact child computes.
    /// </summary>
    private static void ExportsRoundTrip(string run, TorchSharp.torch.Tensor testInputs, TempDir dir)
    {
        string pt = Path.Combine(dir.Path, "child-001.pt"), safetensors = Path.Combine(dir.Path, "child-001.safetensors");
        var dense = Sne.Run("export", run, "--child", "1", "--format", "pt", "--output", pt);
        dense.ExitCode.ShouldBe(0, dense.Output);
        dense.Stdout.ShouldContain("compact; written dense");
        var compact = Sne.Run("export", run, "--child", "1", "--format", "safetensors", "--layout", "compact", "--output", safetensors);
        compact.ExitCode.ShouldBe(0, compact.Output);
        var missing = Sne.Run("export", run, "--child", "9");
        missing.ExitCode.ShouldBe(2, missing.Output);
        missing.Stderr.ShouldContain("no finished child 9");

        string inputs = Path.Combine(dir.Path, "test-inputs.npy");
        NpyFile.Write(inputs, testInputs);
        string saved = Path.Combine(run, "children", "child-001.npy");
        Skip.IfNot(TorchVisionParentWeightsTests.PyTorchAvailable(), "/usr/bin/python3 cannot import torch (./sne test installs python3-torch)");
        string script = """
            import json, struct, sys
            import numpy as np, torch
            pt, st, inputs, saved = sys.argv[1:]
            def safetensors(path):
                raw = open(path, 'rb').read()
                n = struct.unpack('<Q', raw[:8])[0]
                header = json.loads(raw[8:8 + n])
                out = {}
                for k, v in header.items():
                    if k == '__metadata__': continue
                    a, b = v['data_offsets']
                    out[k] = torch.from_numpy(np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.float32).reshape(v['shape']).copy())
                return out
            def mlp(sd, x):
                names = ['layers.fc1', 'layers.fc2', 'layers.fc3', 'layers.out']
                for i, n in enumerate(names):
                    x = torch.nn.functional.linear(x, sd[n + '.weight'], sd[n + '.bias'])
                    if i < len(names) - 1: x = torch.relu(x)
                return torch.softmax(x, 1)
            x = torch.from_numpy(np.load(inputs))
            expected = torch.from_numpy(np.load(saved))
            dense, compact = torch.load(pt), safetensors(st)
            assert dense['layers.fc2.weight'].shape == (64, 64), dense['layers.fc2.weight'].shape
            assert compact['layers.fc2.weight'].shape == (32, 32), compact['layers.fc2.weight'].shape
            for name, sd in (('dense .pt', dense), ('compact .safetensors', compact)):
                d = (mlp(sd, x) - expected).abs().max().item()
                assert d < 1e-5, f'{name}: max difference {d}'
                print(name, d)
            """;
        string file = dir.File("check.py", script);
        using (var python = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/usr/bin/python3", [file, pt, safetensors, inputs, saved])
        { RedirectStandardOutput = true, RedirectStandardError = true })!)
        {
            string log = python.StandardOutput.ReadToEnd() + python.StandardError.ReadToEnd();
            python.WaitForExit();
            python.ExitCode.ShouldBe(0, log);
            log.ShouldContain("dense .pt");
        }

        // Back into sne: the PyTorch file as a model's weights computes what the compact child computes.
        var config = TestData.RunConfig(run);
        var plugins = TestData.Plugins();
        using var fromPyTorch = plugins.Build(config.Model, [2], 2, new TorchSharp.torch.Generator(0));
        ParentWeights.Load(fromPyTorch, pt, []);
        using var child = RunDirectory.LoadModel(plugins, config.Model, [2], 2, Path.Combine(run, "children", "child-001.ckpt"));
        child.MaskedLayers[1].weight.shape.ShouldBe([32L, 32]);
        SubnetworkEnsembles.Engine.Models.StructuredCompaction.MaxLogitDifference(fromPyTorch, child, 5).ShouldBeLessThan(1e-5);
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
