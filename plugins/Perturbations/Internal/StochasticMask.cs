using System.Runtime.CompilerServices;
using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Perturbations.Internal;

/// <summary>
/// The machinery shared by the annealing perturbations (dissertation ch. 6): per weight a start probability matrix P₀ and a
/// binary target M; during tuning P(t) = M + (P₀ − M) · w(t) with the annealing weight w (1 → 0 over T_anneal), and
/// every training forward pass uses a fresh Bernoulli(P(t)) mask. From t = T_anneal on, the mask is the deterministic
/// target and masked-out weights are frozen at zero. Evaluation always uses the target mask.
/// P₀, M and P(t) are kept on the CPU and every mask is drawn there from a CPU generator, then copied to the weight's
/// device: a CUDA draw would need a CUDA generator, and drawing on the CPU gives CPU and GPU runs the same masks (as
/// <see cref="GeneratorDropout"/> does).
/// </summary>
internal sealed class StochasticMasks(AnnealFunction function, AnnealUnit unit, double annealEpochs, double k)
{
    private sealed class State(Tensor start, Tensor target, Generator generator, Device device)
    {
        public Tensor Start { get; } = start;
        public Tensor Target { get; } = target;
        public Generator Generator { get; } = generator;
        public Device Device { get; } = device;
        public Tensor? Current { get; set; }
        public double Weight { get; set; } = double.NaN;
    }

    private readonly ConditionalWeakTable<IMaskableWeight, State> _states = new();

    /// <summary>Installs P₀ and the target on <paramref name="w"/>; draws come from a generator seeded by (seed, child, layer).</summary>
    public void Install(IMaskableWeight w, Tensor start, Tensor target, PerturbationContext context, int layer)
    {
        var generator = new Generator((ulong)Seeds.Derive(context.RunSeed, "stochastic-mask", context.ChildIndex * 1024L + layer));
        var state = new State(start.to(ScalarType.Float32, CPU, copy: true), target.to(ScalarType.Float32, CPU, copy: true), generator, w.Weight.device);
        _states.AddOrUpdate(w, state);
        w.Mask = state.Target;                          // evaluation (and checkpoints) use the target
        w.FreezeMasked = false;
        Update(w, state, 0);
    }

    /// <summary>Moves every weight's P to time t of <paramref name="progress"/>.</summary>
    public void Step(IReadOnlyList<IMaskableWeight> weights, TrainingProgress progress)
    {
        double t = Annealing.Time(progress, unit);
        foreach (var w in weights)
            if (_states.TryGetValue(w, out var state)) Update(w, state, t);
    }

    /// <summary>The current P of <paramref name="w"/> (for tests), or null.</summary>
    public Tensor? Probabilities(IMaskableWeight w) => _states.TryGetValue(w, out var s) ? s.Current : null;

    private void Update(IMaskableWeight w, State state, double t)
    {
        double weight = Annealing.Weight(function, t, annealEpochs, k);
        if (weight == state.Weight) return;
        state.Weight = weight;
        state.Current?.Dispose();
        using (no_grad())
        {
            using var delta = state.Start.sub(state.Target);
            state.Current = state.Target.add(delta, weight).clamp_(0, 1);
        }
        if (weight == 0)
        {
            // Annealing is over: the mask is the deterministic target from now on.
            w.StochasticMask = null;
            w.FreezeMasked = true;
            using var _ = no_grad();
            w.Weight.mul_(w.Mask);
            return;
        }
        var p = state.Current;
        var generator = state.Generator;
        var device = state.Device;
        w.StochasticMask = () => Draw(p, generator, device);
    }

    /// <summary>A Bernoulli(<paramref name="p"/>) mask drawn on the CPU from <paramref name="generator"/>, on <paramref name="device"/>.</summary>
    private static Tensor Draw(Tensor p, Generator generator, Device device)
    {
        var draw = bernoulli(p, generator);
        if (device.type == TorchSharp.DeviceType.CPU) return draw;
        using (draw) return draw.to(device);
    }
}
