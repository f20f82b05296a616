using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Testing.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Testing;

/// <summary>What <see cref="PerturbationContract.Check"/> expects of a particular perturbation.</summary>
public sealed record PerturbationExpectations
{
    /// <summary>
    /// Null (the default): the child must depend on the generators (another seed makes another child). Otherwise the
    /// reason it is the same under every seed (e.g. "it applies the given mask"); then it must be.
    /// </summary>
    public string? SeedIndependent { get; init; }

    /// <summary>Tuning steps simulated after <see cref="IPerturbation.Apply"/>: <see cref="StepsPerEpoch"/> a epoch.</summary>
    public int Steps { get; init; } = 6;

    /// <summary>Steps per simulated epoch.</summary>
    public long StepsPerEpoch { get; init; } = 2;

    /// <summary>Set size of the simulated child's ϕ-set (it is member 0), so that set-wise perturbations apply.</summary>
    public int SetSize { get; init; } = 2;

    /// <summary>Tuning steps of the leak check (after one warm-up step).</summary>
    public int LeakCalls { get; init; } = 4;

    /// <summary>The child to perturb; by default <see cref="MaskableModel.ConvNet"/> (a Conv2d and a Linear weight).</summary>
    public Func<MaskableModel> Model { get; init; } = () => MaskableModel.ConvNet(seed: 4);
}

/// <summary>
/// The contract of ξ (<see cref="IPerturbation"/>) in one call. A child is made as the host makes one: a fresh instance's
/// <see cref="IPerturbation.Apply"/> with a half-sparse random mask and a context whose generators are seeded from the
/// seed and the model with random data as <see cref="PerturbationContext.Network"/> (<see cref="FakeNetworkAccess"/>), then
/// <see cref="IPerturbation.OnTuningStep"/> before and <see cref="IPerturbation.AfterTuningStep"/> after each of
/// <see cref="PerturbationExpectations.Steps"/> training forward passes (which draw any <see cref="IMaskableWeight.StochasticMask"/>). Checked: weights keep their shape, dtype
/// and device and stay finite; masks and stochastic draws are 0/1; the given <see cref="ChildMask"/> is neither changed
/// nor disposed; two fresh instances with the same seed make the same child (weights, masks and every forward pass)
/// even when torch's global generator differs, another seed another child unless
/// <see cref="PerturbationExpectations.SeedIndependent"/>; no tensor left undisposed over repeated tuning steps.
/// </summary>
public static class PerturbationContract
{
    /// <summary>Checks the perturbation made by <paramref name="create"/>; throws <see cref="ContractException"/> naming it and the first problem.</summary>
    public static void Check(Func<IPerturbation> create, PerturbationExpectations? expectations = null)
    {
        var expect = expectations ?? new PerturbationExpectations();
        string plugin = PluginNames.Of(create(), "perturbation");
        manual_seed(1);
        var first = MakeChild(create(), plugin, expect, seed: 9, leakCheck: true);
        manual_seed(2);
        var again = MakeChild(create(), plugin, expect, seed: 9, leakCheck: false);
        var other = MakeChild(create(), plugin, expect, seed: 10, leakCheck: false);
        try
        {
            if (!Tensors.Same(first, again))
                throw new ContractException(plugin, "two fresh instances with the same seed made different children; draw only from the context's " +
                    "Generator and SetGenerator (not torch's global generator) and keep no state between instances");
            bool same = Tensors.Same(first, other);
            if (expect.SeedIndependent is null && same)
                throw new ContractException(plugin, "seeds 9 and 10 made the same child; a random perturbation must draw from the context's generators " +
                    "(or declare SeedIndependent with the reason)");
            if (expect.SeedIndependent is { } why && !same)
                throw new ContractException(plugin, $"declared seed-independent ({why}) but seeds 9 and 10 made different children");
        }
        finally { Tensors.DisposeAll(first.Concat(again).Concat(other)); }
    }

    /// <summary>Makes one child and returns what it computed: every forward pass's logits, then each weight and its mask.</summary>
    private static List<Tensor> MakeChild(IPerturbation perturbation, string plugin, PerturbationExpectations expect, ulong seed, bool leakCheck)
    {
        using var model = expect.Model();
        using var mask = HalfMask(model);
        using var maskBefore = new ChildMask(mask.Masks.ToDictionary(p => p.Key, p => p.Value.clone()));
        using var generator = new Generator(seed);
        using var setGenerator = new Generator(seed + 1000);
        using var input = TestBatches.Classification(model.InputShape, model.Classes, rows: 3, seed: 11);
        using var data = new FakeNetworkAccess(model);
        var observed = new List<Tensor>();
        try
        {
            perturbation.Apply(model.MaskableWeights, mask, new PerturbationContext(0, 0, 0, expect.SetSize, (long)seed, generator, setGenerator) { Network = data });
            CheckChild(plugin, "after Apply", model);
            for (int step = 0; step < expect.Steps; step++)
            {
                perturbation.OnTuningStep(model.MaskableWeights, Progress(step, expect));
                CheckChild(plugin, $"after OnTuningStep at step {step}", model);
                observed.Add(TrainingForward(plugin, model, input.Inputs));
                perturbation.AfterTuningStep(model.MaskableWeights, Progress(step, expect));
                CheckChild(plugin, $"after AfterTuningStep at step {step}", model);
            }
            foreach (var (name, before) in maskBefore.Masks)
            {
                if (mask.Masks[name].IsInvalid) throw new ContractException(plugin, $"disposed the ChildMask it was given ('{name}'); the host owns it");
                if (!Tensors.Same(mask.Masks[name], before)) throw new ContractException(plugin, $"changed the ChildMask it was given ('{name}'); copy it instead");
            }
            if (leakCheck)
            {
                long step = expect.Steps;
                Tensors.ShouldNotLeak(plugin, "OnTuningStep and a training forward pass", expect.LeakCalls, () =>
                {
                    perturbation.OnTuningStep(model.MaskableWeights, Progress(step, expect));
                    TrainingForward(plugin, model, input.Inputs).Dispose();
                    perturbation.AfterTuningStep(model.MaskableWeights, Progress(step++, expect));
                });
            }
            observed.AddRange(model.Weights.SelectMany(w => new[] { w.Weight.detach().clone(), w.Mask.clone() }));
            return observed;
        }
        catch
        {
            Tensors.DisposeAll(observed);
            throw;
        }
    }

    private static TrainingProgress Progress(long step, PerturbationExpectations expect)
    {
        long total = Math.Max(expect.Steps, step + 1);
        return new TrainingProgress(step, total, (int)(step / expect.StepsPerEpoch), expect.StepsPerEpoch);
    }

    /// <summary>A float32 0/1 mask keeping each entry with probability ½ (drawn from a fixed seed), for every weight.</summary>
    private static ChildMask HalfMask(MaskableModel model)
    {
        using var g = new Generator(3);
        return new ChildMask(model.Weights.ToDictionary(w => w.Name, w =>
        {
            using var half = full(w.Weight.shape, 0.5);
            return bernoulli(half, g);
        }));
    }

    /// <summary>Logits of a training-mode forward pass, checking every stochastic draw is a 0/1 tensor of the weight's shape.</summary>
    private static Tensor TrainingForward(string plugin, MaskableModel model, Tensor inputs)
    {
        foreach (var w in model.Weights.Where(w => w.StochasticMask is not null))
        {
            using var draw = w.StochasticMask!();
            if (!draw.shape.SequenceEqual(w.Weight.shape))
                throw new ContractException(plugin, $"the StochasticMask of '{w.Name}' drew shape {Tensors.Shape(draw)}, the weight has {Tensors.Shape(w.Weight)}");
            if (!Tensors.IsBinary(draw)) throw new ContractException(plugin, $"the StochasticMask of '{w.Name}' drew values other than 0 and 1");
        }
        model.Training = true;
        using var scope = NewDisposeScope();
        return model.Forward(inputs).detach().clone().MoveToOuterDisposeScope();
    }

    private static void CheckChild(string plugin, string when, MaskableModel model)
    {
        foreach (var w in model.Weights)
        {
            if (w.Weight.IsInvalid) throw new ContractException(plugin, $"{when}: the weight '{w.Name}' was disposed");
            if (w.Weight.dtype != ScalarType.Float32 || w.Weight.device_type != DeviceType.CPU)
                throw new ContractException(plugin, $"{when}: the weight '{w.Name}' changed dtype or device ({w.Weight.dtype} on {w.Weight.device})");
            if (!Tensors.IsFinite(w.Weight)) throw new ContractException(plugin, $"{when}: the weight '{w.Name}' has NaN or infinite values");
            if (!Tensors.IsBinary(w.Mask)) throw new ContractException(plugin, $"{when}: the mask of '{w.Name}' has values other than 0 and 1");
        }
    }
}
