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
/// ξ — perturbation (SPEC §1): turns a copy of the parent's weights plus the child's sampled mask into
/// the child. Families: noise (Ŵ = W + N ⊙ M), prune (Ŵ = W ⊙ M, frozen), stochastic (Ŵ = W ⊙ Bernoulli(P),
/// re-drawn on every training forward pass through <see cref="IMaskableWeight.StochasticMask"/>).
/// </summary>
public interface IPerturbation
{
    /// <summary>
    /// Applies ξ once, before tuning. <paramref name="weights"/> are the child's own (already a copy of the
    /// parent); <paramref name="mask"/> is this child's ϕ draw. Randomness only from <paramref name="generator"/>,
    /// which the host seeds from (run seed, child index).
    /// </summary>
    void Apply(IReadOnlyList<IMaskableWeight> weights, ChildMask mask, Generator generator);

    /// <summary>
    /// Called before every tuning step; lets time-dependent perturbations (annealed probabilities) update
    /// their state. The default does nothing.
    /// </summary>
    void OnTuningStep(IReadOnlyList<IMaskableWeight> weights, TrainingProgress progress) { }
}
