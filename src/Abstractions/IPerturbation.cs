using static TorchSharp.torch;

namespace SubnetworkEnsembles.Abstractions;

/// <summary>Where a child is in its tuning: used by perturbations that change over time (annealing).</summary>
/// <param name="Step">Optimiser steps taken so far (0-based index of the step about to run).</param>
/// <param name="TotalSteps">Steps in the whole tuning run (epochs × batches per epoch).</param>
/// <param name="Epoch">0-based epoch of <paramref name="Step"/>.</param>
/// <param name="StepsPerEpoch">Batches per epoch.</param>
public readonly record struct TrainingProgress(long Step, long TotalSteps, int Epoch, long StepsPerEpoch)
{
    /// <summary>Fraction of tuning done, in [0, 1].</summary>
    public double Fraction => TotalSteps == 0 ? 1 : (double)Step / TotalSteps;
}

/// <summary>
/// Which child ξ is making, and the generators its randomness must come from. Children are drawn in sets (see
/// <see cref="ISubnetworkSampler"/>): child <see cref="ChildIndex"/> is member <see cref="MemberInSet"/> of set
/// <see cref="SetIndex"/>. <see cref="Generator"/> is seeded from (run seed, child index) — the child's own draws;
/// <see cref="SetGenerator"/> from (run seed, set index) — draws shared by every member of the set, e.g. the one
/// noise tensor N of mirrored children or the probability matrix P of partitioned stochastic children.
/// </summary>
public sealed record PerturbationContext(int ChildIndex, int SetIndex, int MemberInSet, int SetSize, long RunSeed,
    Generator Generator, Generator SetGenerator)
{
    /// <summary>
    /// The child being made, with the run's data and gradients (see <see cref="INetworkAccess"/>); null only where a
    /// perturbation is called outside a run (a unit test that does not give one). Valid for the child's whole tuning,
    /// so <see cref="IPerturbation.OnTuningStep"/> and <see cref="IPerturbation.AfterTuningStep"/> may keep it.
    /// </summary>
    public INetworkAccess? Network { get; init; }
}

/// <summary>
/// ξ — perturbation (dissertation §3.2): turns a copy of the parent's weights plus the child's sampled mask into
/// the child. Families: noise (Ŵ = W + N ⊙ M), prune (Ŵ = W ⊙ M, frozen), stochastic (Ŵ = W ⊙ Bernoulli(P),
/// re-drawn on every training forward pass through <see cref="IMaskableWeight.StochasticMask"/>), dynamic sparse
/// training (masks changed during tuning, e.g. RigL).
/// <para>
/// Hook order for one child: <see cref="Apply"/> once; then, for every tuning step t = 0 … T − 1:
/// <see cref="OnTuningStep"/> (before the learning rate is set, before <c>zero_grad</c> and before the forward pass) →
/// forward (W ⊙ M, or W ⊙ a stochastic draw) → cross-entropy → backward → optimiser step → frozen masks re-applied
/// (W ← W ⊙ M where <see cref="IMaskableWeight.FreezeMasked"/>) → <see cref="AfterTuningStep"/> (the step's gradients
/// are still in each weight's <c>.grad</c>, taken with respect to W, so zero where the mask is 0). A child with
/// <c>tuning: none</c> gets <see cref="Apply"/> only. A resumed tuning calls the hooks from the step it resumes at;
/// masks and weights come back from the checkpoint, so hooks must be functions of (step, weights, masks, generators
/// seeded from the step), not of state kept in the plugin instance.
/// </para>
/// </summary>
public interface IPerturbation
{
    /// <summary>
    /// Applies ξ once, before tuning. <paramref name="weights"/> are the child's own (already a copy of the
    /// parent); <paramref name="mask"/> is this child's ϕ draw, on the child's device. Randomness only from the
    /// generators of <paramref name="context"/>; data and gradients from <see cref="PerturbationContext.Network"/>.
    /// </summary>
    void Apply(IReadOnlyList<IMaskableWeight> weights, ChildMask mask, PerturbationContext context);

    /// <summary>
    /// Called before every tuning step, outside the step's dispose scope; lets time-dependent perturbations (annealed
    /// probabilities, iterative pruning) update their state. The default does nothing.
    /// </summary>
    void OnTuningStep(IReadOnlyList<IMaskableWeight> weights, TrainingProgress progress) { }

    /// <summary>
    /// Called after every tuning step (after the optimiser step and the frozen-mask re-application; see the hook order
    /// above), outside the step's dispose scope: dynamic sparse training drops and regrows connections here. The
    /// default does nothing.
    /// </summary>
    void AfterTuningStep(IReadOnlyList<IMaskableWeight> weights, TrainingProgress progress) { }
}
