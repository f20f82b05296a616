using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Perturbations;
using SubnetworkEnsembles.Samplers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// The data-aware context of ϕ and ξ (<see cref="NetworkAccess"/>) checked against plain autograd and finite
/// differences, and the built-ins on it — snip, fisher, grasp, synflow, rigl — against their definitions.
/// </summary>
[Trait("Category", "unit")]
public sealed class DataAwareMethodTests : IDisposable
{
    private readonly MaskedNetwork _network = TestModels.SmallMlp(seed: 3);
    private readonly InMemoryDataset _train;
    private readonly InMemoryDataset _validation;

    public DataAwareMethodTests()
    {
        using var g = new Generator(11);
        _train = new InMemoryDataset(randn([200, 1, 8, 8], generator: g), randint(0, 5, [200], generator: g));
        _validation = new InMemoryDataset(randn([50, 1, 8, 8], generator: g), randint(0, 5, [50], generator: g));
    }

    public void Dispose()
    {
        _network.Dispose();
        _train.Dispose();
        _validation.Dispose();
    }

    private NetworkAccess Access() => new(_network, _network.MaskableWeights, _train, _validation);

    private Dictionary<string, Tensor> StateCopy() => _network.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());

    private void ShouldBeUnchanged(Dictionary<string, Tensor> before)
    {
        foreach (var (name, value) in _network.state_dict()) value.IsSameAs(before[name]).ShouldBeTrue($"{name} changed");
        _network.parameters().ShouldAllBe(p => ReferenceEquals(p.grad, null), "no .grad left behind");
    }

    [Fact]
    public void Loss_gradients_are_taken_at_the_masked_weight_equal_autograd_where_kept_and_leave_the_network_as_it_was()
    {
        var first = _network.MaskedLayers[0];
        using (var g = new Generator(5)) using (var m = rand(first.weight.shape, generator: g).gt(0.5).to_type(ScalarType.Float32)) first.Mask = m;
        _network.train();
        var before = StateCopy();
        using var batchGenerator = new Generator(7);
        using var batch = Access().TrainingBatch(64, batchGenerator);
        var gradients = Access().LossGradients(batch);
        ShouldBeUnchanged(before);
        _network.training.ShouldBeTrue("the mode is restored");

        // Plain autograd in evaluation mode: ∂L/∂W = M ⊙ ∂L/∂Ŵ.
        _network.eval();
        using var loss = nn.functional.cross_entropy(_network.call(batch.Inputs), batch.Labels);
        loss.backward();
        using var expected = first.weight.grad!.clone();
        using var kept = gradients[first.Name] * first.Mask;
        kept.allclose(expected, rtol: 1e-5, atol: 1e-7).ShouldBeTrue();
        using var removed = gradients[first.Name] * (1 - first.Mask);
        removed.abs().sum().ToDouble().ShouldBeGreaterThan(0, "masked-out entries get their would-be gradient");
        _network.zero_grad();
        foreach (var t in gradients.Values) t.Dispose();
    }

    [Fact]
    public void The_hessian_vector_product_matches_central_differences_of_the_gradient()
    {
        // A smooth network (tanh): central differences of a ReLU network's gradient are dominated by units crossing the kink.
        using var smooth = new MaskedNetwork(nn.Sequential(("flatten", nn.Flatten()), ("fc1", nn.Linear(64, 16)), ("act", nn.Tanh()), ("fc2", nn.Linear(16, 5))),
            [1, 8, 8], 5, null);
        var access = new NetworkAccess(smooth, smooth.MaskableWeights, _train, _validation);
        using var g = new Generator(9);
        using var batch = access.TrainingBatch(100, g);
        var v = smooth.MaskedLayers.ToDictionary(l => l.Name, l => randn(l.weight.shape, generator: g));
        var hv = access.HessianVectorProduct(batch, v);
        const double eps = 1e-3;
        Dictionary<string, Tensor> Shifted(double sign) => smooth.MaskedLayers.ToDictionary(l => l.Name, l => l.weight.detach() + sign * eps * v[l.Name]);
        var plus = access.Gradients(n => nn.functional.cross_entropy(n.call(batch.Inputs), batch.Labels), Shifted(+1));
        var minus = access.Gradients(n => nn.functional.cross_entropy(n.call(batch.Inputs), batch.Labels), Shifted(-1));
        foreach (var l in smooth.MaskedLayers)
        {
            using var difference = (plus[l.Name] - minus[l.Name]) / (2 * eps);
            double error = (difference - hv[l.Name]).norm().ToDouble(), scale = hv[l.Name].norm().ToDouble();
            scale.ShouldBeGreaterThan(0);
            (error / scale).ShouldBeLessThan(0.02, $"{l.Name}: |FD| {difference.norm().ToDouble()}, |Hv| {scale}, error {error}");
        }
    }

    [Fact]
    public void Snip_keeps_exactly_the_top_connections_by_weight_times_gradient_over_all_layers()
    {
        var weights = _network.MaskableWeights;
        var masks = new SnipSampler(new SnipSamplerOptions { Sparsity = 0.7, BatchSize = 64 })
            .SampleSet(weights, new Generator(4), new SamplingContext(Access(), 0, 0));
        // The same batch by hand (the sampler's generator draws it first), plain autograd on the unmasked parent.
        using var batch = Access().TrainingBatch(64, new Generator(4));
        using (var loss = nn.functional.cross_entropy(_network.call(batch.Inputs), batch.Labels)) loss.backward();
        using var scores = cat(weights.Select(w => (w.Weight.detach() * w.Weight.grad!).abs().flatten()).ToList(), 0);
        long keep = (long)Math.Round(0.3 * scores.numel());
        double threshold = scores.sort(descending: true).Values[keep - 1].ToDouble();
        using var chosen = cat(weights.Select(w => masks[0].Masks[w.Name].flatten()).ToList(), 0);
        chosen.sum().ToInt64().ShouldBe(keep);
        using var keptScores = scores.masked_select(chosen.eq(1));
        keptScores.min().ToDouble().ShouldBeGreaterThanOrEqualTo(threshold);
        _network.zero_grad();
    }

    [Fact]
    public void A_saliency_partition_deals_every_run_of_k_ranks_to_the_k_children_and_covers_every_weight_once()
    {
        var weights = _network.MaskableWeights;
        var set = new FisherSampler(new FisherSamplerOptions { SetSize = 3, Batches = 2 })
            .SampleSet(weights, new Generator(8), new SamplingContext(Access(), 0, 0));
        set.Count.ShouldBe(3);
        foreach (var w in weights)
        {
            using var sum = set[0].Masks[w.Name] + set[1].Masks[w.Name] + set[2].Masks[w.Name];
            sum.eq(1).all().ToBoolean().ShouldBeTrue($"Σ Mᵢ = 1 on {w.Name}");
        }
        set.Select(m => m.Sparsity).ShouldAllBe(s => Math.Abs(s - 2.0 / 3) < 0.001);
        // The same scores by hand: each child keeps exactly one unit of every block of 3 consecutive ranks.
        var access = Access();
        using var g = new Generator(8);
        var scores = weights.ToDictionary(w => w.Name, w => zeros_like(w.Weight));
        for (int b = 0; b < 2; b++)
        {
            using var batch = access.TrainingBatch(32, g);
            foreach (var (name, grad) in access.LossGradients(batch))
                scores[name].add_(grad.mul(weights.Single(w => w.Name == name).Weight.detach()).pow(2));
        }
        using var all = cat(weights.Select(w => scores[w.Name].flatten()).ToList(), 0).detach();
        using var order = all.sort(descending: true, stable: true).Indices;
        foreach (var member in set)
        {
            using var flat = cat(weights.Select(w => member.Masks[w.Name].flatten()).ToList(), 0);
            using var byRank = flat.index_select(0, order);
            long blocks = byRank.numel() / 3;
            using var perBlock = byRank.narrow(0, 0, blocks * 3).reshape(blocks, 3).sum(1);
            perBlock.eq(1).all().ToBoolean().ShouldBeTrue("one unit of every block of three ranks");
        }
    }

    [Fact]
    public void Synflow_is_data_free_keeps_every_layer_alive_at_high_sparsity_and_restores_the_parent_exactly()
    {
        var before = StateCopy();
        var options = new SynflowSamplerOptions { Sparsity = 0.99, Iterations = 20 };
        var a = new SynflowSampler(options).SampleSet(_network.MaskableWeights, new Generator(1), new SamplingContext(Access(), 0, 0));
        var b = new SynflowSampler(options).SampleSet(_network.MaskableWeights, new Generator(2), new SamplingContext(Access(), 0, 0));
        ShouldBeUnchanged(before);
        a[0].Sparsity.ShouldBe(0.99, 0.001);
        foreach (var w in _network.MaskableWeights)
        {
            a[0].Masks[w.Name].IsSameAs(b[0].Masks[w.Name]).ShouldBeTrue("no data and no randomness: the same mask from any generator");
            a[0].Masks[w.Name].sum().ToDouble().ShouldBeGreaterThan(0, $"{w.Name} keeps connections (no layer collapse)");
        }
    }

    [Fact]
    public void Rigl_replaces_the_cosine_fraction_of_each_layer_keeping_its_sparsity_and_zeroing_moved_weights()
    {
        var options = new RiglOptions { UpdateInterval = 10, DropFraction = 0.3, EndFraction = 0.75, BatchSize = 64 };
        var rigl = new RiglPerturbation(options);
        rigl.UpdateFraction(10, 100).ShouldBe(0.15 * (1 + Math.Cos(Math.PI * 10 / 75)), 1e-12);
        rigl.UpdateFraction(11, 100).ShouldBe(0);
        rigl.UpdateFraction(80, 100).ShouldBe(0, "after T_end the connectivity is left alone");
        var weights = _network.MaskableWeights;
        using var g = new Generator(3);
        var mask = new ChildMask(weights.ToDictionary(w => w.Name, w => rand(w.Weight.shape, generator: g).gt(0.5).to_type(ScalarType.Float32)));
        rigl.Apply(weights, mask, TestModels.Context(g) with { Network = Access() });
        var masksBefore = weights.ToDictionary(w => w.Name, w => w.Mask.clone());
        rigl.AfterTuningStep(weights, new TrainingProgress(9, 100, 0, 10));
        foreach (var w in weights)
        {
            long active = masksBefore[w.Name].sum().ToInt64();
            w.Mask.sum().ToInt64().ShouldBe(active, $"{w.Name} keeps its number of connections");
            using var moved = w.Mask.ne(masksBefore[w.Name]).sum();
            long expected = 2 * (long)Math.Floor(rigl.UpdateFraction(10, 100) * active);
            moved.ToInt64().ShouldBeLessThanOrEqualTo(expected);
            moved.ToInt64().ShouldBeGreaterThan(0, $"{w.Name} changed connections");
            using var outside = w.Weight.detach() * (1 - w.Mask);
            outside.abs().sum().ToDouble().ShouldBe(0, "weights outside the mask are zero");
            using var grown = w.Mask * (1 - masksBefore[w.Name]);
            using var grownWeights = w.Weight.detach() * grown;
            grownWeights.abs().sum().ToDouble().ShouldBe(0, "regrown connections start at zero");
        }
    }

    [Fact]
    public void Data_aware_samplers_called_without_the_context_say_they_need_data()
    {
        Should.Throw<InvalidOperationException>(() => new SnipSampler(new SnipSamplerOptions()).SampleSet(_network.MaskableWeights, new Generator(1)))
            .Message.ShouldContain("snip is data-aware");
    }
}
