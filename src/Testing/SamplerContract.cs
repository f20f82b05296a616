using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Testing.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Testing;

/// <summary>What <see cref="SamplerContract.Check"/> expects of a particular sampler.</summary>
public sealed record SamplerExpectations
{
    /// <summary>
    /// Null (the default): the masks must depend on the generator (another seed draws other masks). Otherwise the reason
    /// the sampler draws the same masks under every seed (e.g. "the largest weights are kept"); then they must be equal.
    /// </summary>
    public string? SeedIndependent { get; init; }

    /// <summary>Sampling calls of the leak check (after one warm-up call).</summary>
    public int LeakCalls { get; init; } = 4;

    /// <summary>The weights to sample for; by default <see cref="MaskableModel.ConvNet"/> (a Conv2d and a Linear weight).</summary>
    public Func<MaskableModel> Model { get; init; } = () => MaskableModel.ConvNet(seed: 3);
}

/// <summary>
/// The contract of ϕ (<see cref="ISubnetworkSampler"/>) in one call, through the overload the host calls (with a
/// <see cref="SamplingContext"/> over the model and random data, <see cref="FakeNetworkAccess"/>, so data-aware samplers are checked too): <see cref="ISubnetworkSampler.SetSize"/> ≥ 1 masks
/// per draw; every mask named after one of the weights, float32, of that weight's shape, on the CPU, with values in
/// {0, 1}; the weights and their masks untouched; two fresh instances with the same generator seed draw the same masks
/// (even when torch's global generator differs: only the generator passed in may be used), another seed draws other
/// masks unless <see cref="SamplerExpectations.SeedIndependent"/>; no tensor left undisposed over repeated draws.
/// </summary>
public static class SamplerContract
{
    /// <summary>Checks the sampler made by <paramref name="create"/>; throws <see cref="ContractException"/> naming it and the first problem.</summary>
    public static void Check(Func<ISubnetworkSampler> create, SamplerExpectations? expectations = null)
    {
        var expect = expectations ?? new SamplerExpectations();
        var first = create();
        string plugin = PluginNames.Of(first, "sampler");
        if (first.SetSize < 1) throw new ContractException(plugin, $"SetSize must be ≥ 1, got {first.SetSize}");

        using var model = expect.Model();
        using var data = new FakeNetworkAccess(model);
        var context = new SamplingContext(data, 0, 0);
        var weights = model.MaskableWeights;
        var before = Tensors.Snapshot(weights.SelectMany(w => new Tensor[] { w.Weight, w.Mask }));
        try
        {
            manual_seed(1);
            var drawn = Draw(first, plugin, weights, context, seed: 5);
            ShouldBeUnchanged(plugin, weights, before);
            manual_seed(2);
            var again = Draw(create(), plugin, weights, context, seed: 5);
            var other = Draw(create(), plugin, weights, context, seed: 6);
            try
            {
                if (!Tensors.Same(drawn, again))
                    throw new ContractException(plugin, "two fresh instances given generators with the same seed drew different masks; " +
                        "draw only from the generator passed to SampleSet (not torch's global generator) and keep no state between instances");
                bool same = Tensors.Same(drawn, other);
                if (expect.SeedIndependent is null && same)
                    throw new ContractException(plugin, "generators with seeds 5 and 6 drew the same masks; a random sampler must draw from the generator " +
                        "(or declare SeedIndependent with the reason)");
                if (expect.SeedIndependent is { } why && !same)
                    throw new ContractException(plugin, $"declared seed-independent ({why}) but seeds 5 and 6 drew different masks");
            }
            finally { Tensors.DisposeAll(drawn.Concat(again).Concat(other)); }

            Tensors.ShouldNotLeak(plugin, "SampleSet", expect.LeakCalls, () =>
            {
                using var g = new Generator(7);
                foreach (var child in first.SampleSet(weights, g, context)) child.Dispose();
            });
        }
        finally { Tensors.DisposeAll(before); }
    }

    /// <summary>One draw, checked, as a flat list of mask tensors in (child, weight) order (absent masks as empty tensors).</summary>
    private static List<Tensor> Draw(ISubnetworkSampler sampler, string plugin, IReadOnlyList<IMaskableWeight> weights, SamplingContext context, ulong seed)
    {
        using var g = new Generator(seed);
        var set = sampler.SampleSet(weights, g, context);
        var flat = new List<Tensor>();
        try
        {
            if (set.Count != sampler.SetSize)
                throw new ContractException(plugin, $"SampleSet returned {set.Count} masks, but SetSize is {sampler.SetSize}");
            var names = weights.Select(w => w.Name).ToHashSet();
            for (int child = 0; child < set.Count; child++)
            {
                if (set[child] is null) throw new ContractException(plugin, $"child {child} of the set is null");
                var unknown = set[child].Masks.Keys.FirstOrDefault(k => !names.Contains(k));
                if (unknown is not null)
                    throw new ContractException(plugin, $"child {child} has a mask for '{unknown}', which is not one of the weights ({string.Join(", ", names)})");
                foreach (var w in weights)
                {
                    if (!set[child].Masks.TryGetValue(w.Name, out var mask)) { flat.Add(empty(0)); continue; }
                    CheckMask(plugin, $"child {child}, mask '{w.Name}'", mask, w);
                    flat.Add(mask.clone());
                }
            }
            return flat;
        }
        catch
        {
            Tensors.DisposeAll(flat);
            throw;
        }
        finally
        {
            foreach (var child in set) child?.Dispose();
        }
    }

    private static void CheckMask(string plugin, string where, Tensor mask, IMaskableWeight weight)
    {
        if (mask.IsInvalid) throw new ContractException(plugin, $"{where} is already disposed");
        if (!mask.shape.SequenceEqual(weight.Weight.shape))
            throw new ContractException(plugin, $"{where} has shape {Tensors.Shape(mask)}, the weight has {Tensors.Shape(weight.Weight)}");
        if (mask.dtype != ScalarType.Float32) throw new ContractException(plugin, $"{where} is {mask.dtype}, expected Float32");
        if (mask.device_type != DeviceType.CPU) throw new ContractException(plugin, $"{where} is on {mask.device}, expected the CPU");
        if (!Tensors.IsBinary(mask)) throw new ContractException(plugin, $"{where} has values other than 0 and 1");
    }

    private static void ShouldBeUnchanged(string plugin, IReadOnlyList<IMaskableWeight> weights, List<Tensor> before)
    {
        var after = weights.SelectMany(w => new Tensor[] { w.Weight, w.Mask }).ToList();
        for (int i = 0; i < after.Count; i++)
        {
            if (!Tensors.Same(after[i], before[i]))
                throw new ContractException(plugin, $"SampleSet changed the {(i % 2 == 0 ? "values" : "mask")} of weight '{weights[i / 2].Name}'; a sampler must only read the weights");
        }
    }
}
