using System.Runtime.CompilerServices;
using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Perturbations;

/// <summary>Which pruned-to-be weights go first in <see cref="IterativePrunePerturbation"/>.</summary>
public enum PruneOrder
{
    /// <summary>A random order (drawn from the child's generator).</summary>
    Random,
    /// <summary>Smallest |w| first (L1 magnitude at the time ξ is applied).</summary>
    Magnitude,
}

/// <summary>Options of <see cref="IterativePrunePerturbation"/>.</summary>
public sealed class IterativePruneOptions : IValidatableOptions
{
    /// <summary>T_prune: the number of tuning epochs over which the target is reached (an equal share per epoch).</summary>
    public int Epochs { get; init; } = 3;

    /// <summary>Order in which the weights outside the target mask are removed.</summary>
    public PruneOrder Order { get; init; } = PruneOrder.Random;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Epochs < 1) yield return $"epochs: must be ≥ 1, got {Epochs}";
    }
}

/// <summary>
/// Iterative pruning (dissertation ch. 6 baseline): the weights outside the sampled target mask M are removed in T equal shares,
/// one share at the start of each tuning epoch e = 0 … T − 1, so that after e + 1 stages a fraction (e + 1)/T of them
/// is pruned and from epoch T − 1 on the mask equals M. Pruned weights are frozen at exactly zero.
/// Needs at least T tuning epochs to reach the target.
/// </summary>
[Plugin("iterative-prune", PluginKind.Perturbation, OptionsType = typeof(IterativePruneOptions),
    Description = "Prune to the sampled mask in equal shares over T tuning epochs")]
public sealed class IterativePrunePerturbation(IterativePruneOptions options) : IPerturbation
{
    private sealed class State(Tensor rank, long pruned)
    {
        public Tensor Rank { get; } = rank;        // removal rank of every entry (0 … pruned−1 for M = 0, n for M = 1)
        public long Pruned { get; } = pruned;      // entries outside the target
        public int Stage { get; set; } = -1;
    }

    private readonly ConditionalWeakTable<IMaskableWeight, State> _states = new();

    /// <inheritdoc />
    public void Apply(IReadOnlyList<IMaskableWeight> weights, ChildMask mask, PerturbationContext context)
    {
        foreach (var w in weights)
        {
            if (!mask.Masks.TryGetValue(w.Name, out var m)) continue;
            using var flat = m.flatten().cpu();
            long n = flat.shape[0];
            using var outside = flat.eq(0);
            using var candidates = outside.nonzero().flatten();
            long pruned = candidates.shape[0];
            using var score = options.Order == PruneOrder.Random
                ? rand(pruned, generator: context.Generator, device: CPU)
                : w.Weight.detach().abs().flatten().cpu().index_select(0, candidates);
            using var order = score.sort(0, descending: false, stable: true).Indices;
            var rank = full(n, n, ScalarType.Int64, device: CPU);
            using var ranks = arange(pruned, ScalarType.Int64, device: CPU);
            using var ordered = candidates.index_select(0, order);
            rank.index_put_(ranks, ordered);
            var state = new State(rank.reshape(w.Weight.shape).to(w.Weight.device), pruned);
            _states.AddOrUpdate(w, state);
            w.FreezeMasked = true;
            SetStage(w, state, 0);
        }
    }

    /// <inheritdoc />
    public void OnTuningStep(IReadOnlyList<IMaskableWeight> weights, TrainingProgress progress)
    {
        foreach (var w in weights)
            if (_states.TryGetValue(w, out var state)) SetStage(w, state, Math.Min(progress.Epoch, options.Epochs - 1));
    }

    /// <summary>Mask after stage s (0-based): entries of rank &lt; ⌈(s + 1)/T · pruned⌉ are removed.</summary>
    private void SetStage(IMaskableWeight w, State state, int stage)
    {
        if (stage == state.Stage) return;
        state.Stage = stage;
        long removed = (long)Math.Ceiling((stage + 1) * (double)state.Pruned / options.Epochs);
        using var keep = state.Rank.ge(removed);
        using var mask = keep.to_type(ScalarType.Float32);
        w.Mask = mask;
        using var _ = no_grad();
        w.Weight.mul_(w.Mask);
    }
}
