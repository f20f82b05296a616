using SubnetworkEnsembles.Abstractions;

namespace SubnetworkEnsembles.Perturbations.Internal;

/// <summary>The annealing functions of dissertation ch. 6 (eqs. 6.2–6.4).</summary>
public enum AnnealFunction
{
    /// <summary>y = τmax − (τmax − τmin) t/T.</summary>
    Linear,
    /// <summary>y = τmin + ½(τmax − τmin)(1 + cos(π t/T)).</summary>
    Cosine,
    /// <summary>y = τmin + (τmax − τmin) e^(−k t/T); reaches τmin exactly at T (the mask becomes deterministic).</summary>
    Exponential,
}

/// <summary>Whether t counts epochs (the dissertation's choice) or optimiser steps.</summary>
public enum AnnealUnit
{
    /// <summary>t = completed epochs: P changes once per epoch.</summary>
    Epoch,
    /// <summary>t = steps / steps-per-epoch: P changes every step.</summary>
    Step,
}

/// <summary>The annealing weight w(t) ∈ [0, 1]: 1 at t = 0, 0 from t = T on, shaped by an <see cref="AnnealFunction"/>.</summary>
internal static class Annealing
{
    /// <summary>w = (y − τmin)/(τmax − τmin) for the chosen function; exactly 0 for t ≥ T.</summary>
    public static double Weight(AnnealFunction function, double t, double T, double k)
    {
        if (T <= 0 || t >= T) return 0;
        double f = t / T;
        return function switch
        {
            AnnealFunction.Linear => 1 - f,
            AnnealFunction.Cosine => 0.5 * (1 + Math.Cos(Math.PI * f)),
            _ => Math.Exp(-k * f),
        };
    }

    /// <summary>The annealing time of a tuning step, in epochs.</summary>
    public static double Time(TrainingProgress progress, AnnealUnit unit) =>
        unit == AnnealUnit.Epoch ? progress.Epoch : (double)progress.Step / Math.Max(1, progress.StepsPerEpoch);
}
