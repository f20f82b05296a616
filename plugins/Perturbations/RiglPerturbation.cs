using SubnetworkEnsembles.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Perturbations;

/// <summary>Options of <see cref="RiglPerturbation"/>.</summary>
public sealed class RiglOptions : IValidatableOptions
{
    /// <summary>ΔT: tuning steps between two connectivity updates.</summary>
    public int UpdateInterval { get; init; } = 50;

    /// <summary>α: fraction of each layer's active connections replaced at the first update (decays with a cosine).</summary>
    public double DropFraction { get; init; } = 0.3;

    /// <summary>Fraction of the tuning steps after which the connectivity is left alone (RigL's T_end / T: 0.75).</summary>
    public double EndFraction { get; init; } = 0.75;

    /// <summary>Rows of the training batch whose dense gradient ranks the connections to regrow.</summary>
    public int BatchSize { get; init; } = 128;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (UpdateInterval < 1) yield return $"update_interval: must be ≥ 1, got {UpdateInterval}";
        if (DropFraction is <= 0 or >= 1 || double.IsNaN(DropFraction)) yield return $"drop_fraction: must be in (0, 1), got {DropFraction}";
        if (EndFraction is <= 0 or > 1 || double.IsNaN(EndFraction)) yield return $"end_fraction: must be in (0, 1], got {EndFraction}";
        if (BatchSize < 1) yield return $"batch_size: must be ≥ 1, got {BatchSize}";
    }
}

/// <summary>
/// RigL, dynamic sparse training (Evci et al., 2020): the child starts pruned to its ϕ mask (Ŵ = W ⊙ M, frozen, as
/// <c>prune</c>), and every ΔT tuning steps t &lt; T_end each layer replaces k = ⌊f(t) · active⌋ connections, with
/// f(t) = α/2 · (1 + cos(π t / T_end)): it drops the k active weights of smallest |W| and regrows the k inactive
/// connections (just-dropped ones included) with the largest |∂L/∂Ŵ|, the dense gradient of the mean cross-entropy on
/// a training batch drawn by a generator seeded from (run seed, child, step). Regrown weights start at zero. Every
/// layer keeps its number of active connections, so the child's sparsity is unchanged. The masks live in the child's
/// checkpoint, so a resumed tuning continues with the connectivity it had.
/// </summary>
[Plugin("rigl", PluginKind.Perturbation, OptionsType = typeof(RiglOptions),
    Description = "RigL dynamic sparse training: periodically drop small weights and regrow by gradient, keeping sparsity (data-aware)")]
public sealed class RiglPerturbation(RiglOptions options) : IPerturbation
{
    private PerturbationContext? _context;

    /// <inheritdoc />
    public void Apply(IReadOnlyList<IMaskableWeight> weights, ChildMask mask, PerturbationContext context)
    {
        _context = context;
        new PrunePerturbation().Apply(weights, mask, context);   // start pruned to the ϕ mask, pruned weights frozen at zero
    }

    /// <summary>The fraction f(t) replaced at step <paramref name="step"/> of <paramref name="total"/>, or 0 when no update is due.</summary>
    public double UpdateFraction(long step, long total)
    {
        double end = options.EndFraction * total;
        if (step == 0 || step % options.UpdateInterval != 0 || step >= end) return 0;
        return options.DropFraction / 2 * (1 + Math.Cos(Math.PI * step / end));
    }

    /// <inheritdoc />
    public void AfterTuningStep(IReadOnlyList<IMaskableWeight> weights, TrainingProgress progress)
    {
        double fraction = UpdateFraction(progress.Step + 1, progress.TotalSteps);   // after step t, t + 1 steps are done
        if (fraction == 0) return;
        var context = _context ?? throw new InvalidOperationException("rigl: AfterTuningStep before Apply");
        var network = context.Network ?? throw new InvalidOperationException("rigl needs the child network and the run's data (PerturbationContext.Network)");
        using var generator = Seeds.Generator(context.RunSeed, $"rigl/child-{context.ChildIndex}", progress.Step + 1);
        using var batch = network.TrainingBatch(options.BatchSize, generator);
        var gradients = network.LossGradients(batch);
        try
        {
            using var _ = no_grad();
            foreach (var w in weights)
                if (gradients.TryGetValue(w.Name, out var g)) Update(w, g, fraction);
        }
        finally
        {
            foreach (var g in gradients.Values) g.Dispose();
        }
    }

    private static void Update(IMaskableWeight weight, Tensor gradient, double fraction)
    {
        using var mask = weight.Mask.flatten().clone();
        using var sum = mask.sum();
        long active = (long)sum.ToDouble();
        long k = (long)Math.Floor(fraction * active);   // f < 1, so k < active; after the drop n − active + k ≥ k are inactive
        if (k < 1) return;
        using var magnitude = weight.Weight.detach().abs().flatten();
        // Drop: the k active connections of smallest |W| (inactive ones ranked last by +∞).
        using var inactive = mask.eq(0);
        using var dropScore = magnitude.masked_fill(inactive, double.PositiveInfinity);
        var (droppedValues, dropped) = dropScore.topk((int)k, largest: false);
        using (droppedValues)
        using (dropped)
            mask.index_fill_(0, dropped, 0f);
        // Grow: the k inactive connections (after the drop) of largest |∂L/∂Ŵ| (active ones ranked last by −1).
        using var stillActive = mask.eq(1);
        using var growScore = gradient.abs().flatten().masked_fill(stillActive, -1.0);
        var (grownValues, grown) = growScore.topk((int)k);
        using (grownValues)
        using (grown)
            mask.index_fill_(0, grown, 1f);
        using var shaped = mask.reshape(weight.Weight.shape);
        using var keep = shaped.to(weight.Weight.dtype);
        weight.Weight.mul_(keep);                    // dropped weights → 0; regrown ones were 0 already (frozen)
        using var wasInactive = inactive.reshape(weight.Weight.shape);
        weight.Weight.masked_fill_(wasInactive, 0);  // regrown connections start at zero
        weight.Mask = keep;
    }
}
