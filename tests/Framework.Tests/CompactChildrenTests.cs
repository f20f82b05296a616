using Shouldly;
using SubnetworkEnsembles.Experiments.Pipeline;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// Compact structured children (StructuredCompaction) and the sparse child checkpoint: a network whose masks remove whole
/// units, made physically smaller, computes what the masked dense network computes (on Fashion-MNIST test rows), and a
/// child checkpoint stores only what is there.
/// </summary>
public sealed class CompactChildrenTests
{
    private static readonly Lazy<Tensor> TestImages = new(() =>
    {
        using var data = TestData.Load(TestData.Fashion(validation: 0, trainSubset: 1000, testSubset: 2000));
        return data.Test.Inputs.clone();
    });

    /// <summary>Removes a random <paramref name="fraction"/> of the units (mask rows) of every hidden layer, seeded.</summary>
    private static void RemoveUnits(MaskedNetwork network, double fraction, long seed, bool alsoUnstructured = false)
    {
        using var g = new Generator((ulong)seed);
        using var _ = no_grad();
        foreach (var layer in network.MaskedLayers.Where(l => !l.IsOutputLayer))
        {
            long units = layer.weight.shape[0];
            using var order = randperm(units, generator: g);
            using var removed = order.narrow(0, 0, (long)(fraction * units));
            using var mask = ones_like(layer.weight);
            mask.index_fill_(0, removed, 0);
            if (alsoUnstructured)
            {
                using var keep = rand(layer.weight.shape, generator: g).ge(0.3);
                mask.mul_(keep);
            }
            layer.Mask = mask;
            // Biases of removed units stay as trained (here: as initialised, made larger so their constant output matters).
            layer.bias?.mul_(5);
        }
    }

    private static Tensor Probabilities(MaskedNetwork network, Tensor inputs)
    {
        using var _ = no_grad();
        network.eval();
        using var logits = network.call(inputs);
        return logits.softmax(1);
    }

    private static MaskedNetwork CompactCopy(MaskedNetwork dense, Func<MaskedNetwork> build, out CompactionPlan plan)
    {
        var planned = StructuredCompaction.Plan(dense, probeSeed: 7);
        plan = planned.Plan.ShouldNotBeNull(string.Join("; ", planned.KeptDense.Select(kv => $"{kv.Key}: {kv.Value}")));
        var compact = build();
        compact.CopyFrom(dense);
        StructuredCompaction.Compact(compact, plan, probeSeed: 7);
        return compact;
    }

    [Fact]
    public void Compact_MLP_computes_what_the_masked_dense_MLP_computes_on_the_test_set()
    {
        using var dense = TestModels.Mlp([1, 28, 28], [512, 512], 10, seed: 3);
        RemoveUnits(dense, 0.5, seed: 11);
        using var compact = CompactCopy(dense, () => TestModels.Mlp([1, 28, 28], [512, 512], 10, seed: 99), out var plan);

        plan.KeptUnits.Keys.Order().ShouldBe(["layers.fc1.weight", "layers.fc2.weight"]);
        compact.MaskedLayers.Select(l => string.Join("x", l.weight.shape)).ShouldBe(["256x784", "256x256", "10x256"]);
        compact.ParameterCount.ShouldBe(256 * 784 + 256 + 256 * 256 + 256 + 10 * 256 + 10);
        using var expected = Probabilities(dense, TestImages.Value);
        using var actual = Probabilities(compact, TestImages.Value);
        double difference = (expected - actual).abs().max().ToDouble();
        difference.ShouldBeLessThan(1e-5);
        // The folded constants matter: without them the two would differ (the removed units' biases were made large).
        using var unfolded = TestModels.Mlp([1, 28, 28], [512, 512], 10, seed: 99);
        unfolded.CopyFrom(dense);
        StructuredCompaction.Shrink(unfolded, plan);
        using (var plain = Probabilities(unfolded, TestImages.Value)) (expected - plain).abs().max().ToDouble().ShouldBeGreaterThan(1e-3);
    }

    [Fact]
    public void Compact_LeNet_with_partly_unstructured_masks_computes_what_the_masked_dense_LeNet_computes()
    {
        using var dense = TestModels.LeNet(LeNetSize.Small, [1, 28, 28], 10, seed: 5);
        RemoveUnits(dense, 0.5, seed: 12, alsoUnstructured: true);
        using var compact = CompactCopy(dense, () => TestModels.LeNet(LeNetSize.Small, [1, 28, 28], 10, seed: 98), out var plan);

        plan.KeptUnits.Keys.Order().ShouldBe(["classifier.fc1.weight", "classifier.fc2.weight", "features.conv1.weight", "features.conv2.weight"]);
        compact.MaskedLayers.Select(l => string.Join("x", l.weight.shape))
            .ShouldBe(["8x1x5x5", "16x8x5x5", "128x400", "64x128", "10x64"]);
        // The masks of the kept units' remaining (unstructured) zeros come along.
        compact.MaskedLayers[1].Mask.sum().ToDouble().ShouldBeLessThan(16 * 8 * 25);
        using var expected = Probabilities(dense, TestImages.Value);
        using var actual = Probabilities(compact, TestImages.Value);
        (expected - actual).abs().max().ToDouble().ShouldBeLessThan(1e-5);
        FlopCounter.ForwardFlops(compact).ShouldBeLessThan(FlopCounter.ForwardFlops(dense) / 3);
    }

    [Fact]
    public void Residual_network_compacts_inside_blocks_and_keeps_layers_feeding_a_sum_dense()
    {
        static MaskedNetwork ResNet(long seed)
        {
            var generator = new Generator((ulong)seed);
            var module = new ResNetModel(new ResNetOptions { Depth = 8 }).Build(new SubnetworkEnsembles.Abstractions.ModelContext([3, 32, 32], 10, generator));
            return new MaskedNetwork(module, [3, 32, 32], 10, generator);
        }
        using var dense = ResNet(1);
        RemoveUnits(dense, 0.5, seed: 13);
        var planned = StructuredCompaction.Plan(dense, probeSeed: 7);
        var plan = planned.Plan.ShouldNotBeNull();
        // conv1 of each block feeds only conv2 (through bn1, relu): compactable. Layers whose output joins a residual sum are not.
        plan.KeptUnits.Keys.Order().ShouldBe(["layer1.0.conv1.weight", "layer2.0.conv1.weight", "layer3.0.conv1.weight"]);
        planned.KeptDense["conv1.weight"].ShouldContain("residual sum");   // the stem feeds the first block's sum
        planned.KeptDense["layer1.0.conv2.weight"].ShouldContain("residual sum");
        using var x = randn([32, 3, 32, 32], generator: new Generator(3));
        using (var compact = ResNet(2))
        {
            compact.CopyFrom(dense);
            StructuredCompaction.Compact(compact, plan, probeSeed: 7);
            compact.MaskedLayers.First(l => l.Name == "layer2.0.conv1.weight").weight.shape.ShouldBe([16L, 16, 3, 3]);
            using var expected = Probabilities(dense, x);
            using var actual = Probabilities(compact, x);
            (expected - actual).abs().max().ToDouble().ShouldBeLessThan(1e-5);
        }
        // A removed channel whose BatchNorm + ReLU output is not 0 reaches the zero-padded conv2 differently at the borders:
        // no bias can take that, so those layers stay dense (with a BatchNorm shift β > 0 on every removed channel).
        using (no_grad())
            foreach (var (name, p) in dense.named_parameters().Where(p => p.name.EndsWith(".bn1.bias", StringComparison.Ordinal))) p.fill_(0.3);
        var shifted = StructuredCompaction.Plan(dense, probeSeed: 7);
        shifted.Plan.ShouldBeNull();
        shifted.KeptDense["layer1.0.conv1.weight"].ShouldContain("zero padding");
    }

    [Fact]
    public void Expanded_compact_child_is_the_same_function_with_the_parent_shapes_and_zero_removed_units()
    {
        using var dense = TestModels.Mlp([1, 28, 28], [64, 32], 10, seed: 4);
        RemoveUnits(dense, 0.5, seed: 14);
        using var compact = CompactCopy(dense, () => TestModels.Mlp([1, 28, 28], [64, 32], 10, seed: 97), out var plan);
        using var expanded = TestModels.Mlp([1, 28, 28], [64, 32], 10, seed: 96);
        StructuredCompaction.Expand(compact, expanded, plan);

        expanded.MaskedLayers.Select(l => l.weight.shape[0]).ShouldBe([64L, 32L, 10L]);
        var removed = Enumerable.Range(0, 64).Except(plan.KeptUnits["layers.fc1.weight"].Select(u => (int)u)).ToArray();
        using var rows = tensor(removed.Select(i => (long)i).ToArray());
        expanded.MaskedLayers[0].Mask.index_select(0, rows).sum().ToDouble().ShouldBe(0);
        expanded.MaskedLayers[1].weight.index_select(1, rows).abs().sum().ToDouble().ShouldBe(0);
        using var expected = Probabilities(compact, TestImages.Value);
        using var actual = Probabilities(expanded, TestImages.Value);
        (expected - actual).abs().max().ToDouble().ShouldBeLessThan(1e-5);
    }

    [Theory]
    [InlineData(0.5, 0.6)]
    [InlineData(0.9, 0.2)]
    public void Sparse_checkpoint_of_an_unstructured_child_is_small_and_loads_back_exactly(double sparsity, double limit)
    {
        using var scratch = new TempDir();
        using var child = TestModels.Mlp([1, 28, 28], [512, 512], 10, seed: 6);
        using (no_grad())
        using (var g = new Generator(21))
        {
            foreach (var layer in child.MaskedLayers)
            {
                using var scores = rand(layer.weight.shape, generator: g);
                using var mask = scores.ge(sparsity).to(ScalarType.Float32);
                layer.Mask = mask;
                layer.FreezeMasked = true;
                layer.EnforceFrozenMask();
            }
        }
        string file = Path.Combine(scratch.Path, "child-000.ckpt");
        RunDirectory.WriteCheckpoint(file, tmp => SparseCheckpoint.Save(child, null, tmp));
        long weightBytes = 4 * child.MaskedLayers.Sum(l => l.weight.numel());
        double ratio = new FileInfo(file).Length / (double)weightBytes;
        ratio.ShouldBeLessThanOrEqualTo(limit, $"{new FileInfo(file).Length} bytes for {weightBytes} bytes of dense weights");

        using var loaded = RunDirectory.LoadModel(TestData.Plugins(), MlpSpec([512, 512]), [1, 28, 28], 10, file);
        foreach (var ((name, saved), (_, back)) in child.state_dict().Zip(loaded.state_dict()))
            saved.IsSameAs(back).ShouldBeTrue(name);
        loaded.MaskedLayers.Select(l => l.Mask.sum().ToDouble()).ShouldBe(child.MaskedLayers.Select(l => l.Mask.sum().ToDouble()));
    }

    [Fact]
    public void Compact_child_checkpoint_loads_compact_or_dense_and_a_damaged_one_is_refused()
    {
        using var scratch = new TempDir();
        using var dense = TestModels.Mlp([1, 28, 28], [64, 32], 10, seed: 8);
        RemoveUnits(dense, 0.5, seed: 15);
        using var compact = CompactCopy(dense, () => TestModels.Mlp([1, 28, 28], [64, 32], 10, seed: 95), out var plan);
        string file = Path.Combine(scratch.Path, "child-001.ckpt");
        RunDirectory.WriteCheckpoint(file, tmp => SparseCheckpoint.Save(compact, plan, tmp));

        var plugins = TestData.Plugins();
        using (var back = RunDirectory.LoadModel(plugins, MlpSpec([64, 32]), [1, 28, 28], 10, file))
        {
            back.MaskedLayers.Select(l => l.weight.shape[0]).ShouldBe([32L, 16L, 10L]);
            foreach (var ((name, saved), (_, loaded)) in compact.state_dict().Zip(back.state_dict())) saved.IsSameAs(loaded).ShouldBeTrue(name);
        }
        using (var expanded = RunDirectory.LoadModel(plugins, MlpSpec([64, 32]), [1, 28, 28], 10, file, dense: true))
        {
            expanded.MaskedLayers.Select(l => l.weight.shape[0]).ShouldBe([64L, 32L, 10L]);
            using var expected = Probabilities(dense, TestImages.Value);
            using var actual = Probabilities(expanded, TestImages.Value);
            (expected - actual).abs().max().ToDouble().ShouldBeLessThan(1e-5);
        }
        // A checkpoint for another width does not fit, and says so.
        Should.Throw<CorruptFileException>(() => RunDirectory.LoadModel(plugins, MlpSpec([64, 48]), [1, 28, 28], 10, file)).Message.ShouldContain(file);
        RunOutputs.Damage(file);
        Should.Throw<CorruptFileException>(() => RunDirectory.LoadModel(plugins, MlpSpec([64, 32]), [1, 28, 28], 10, file)).Message.ShouldContain("SHA-256");
    }

    private static SubnetworkEnsembles.Experiments.Configuration.PluginSpec MlpSpec(int[] hidden) => new()
    {
        Type = "mlp", Kind = SubnetworkEnsembles.Abstractions.PluginKind.Model, BoundOptions = new MlpOptions { Hidden = [.. hidden] },
    };
}
