using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Experiments.Configuration;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// The validation split's two uses in a run with a trust-region search: the search's holdout and model selection's rows.
/// With <see cref="TrustRegionHoldout.Separate"/> (the dissertation, §4.3) the search measures on the last
/// <c>samples</c> rows and selection scores the others, so the two never see the same row; with
/// <see cref="TrustRegionHoldout.Shared"/> the search measures on the first <c>samples</c> rows and selection on all.
/// </summary>
internal static class ValidationRoles
{
    /// <summary>The validation rows [Start, Start + Count) the trust-region search measures on.</summary>
    /// <exception cref="UsageException">A separate holdout would leave model selection no row.</exception>
    public static (long Start, long Count) Holdout(ExperimentConfig config, long validationRows)
    {
        var region = config.Children.TrustRegion ?? throw new InvalidOperationException("the run has no trust-region search");
        long count = Math.Min(region.Samples, validationRows);
        if (region.Holdout == TrustRegionHoldout.Shared) return (0, count);
        if (config.Children.Keep > 0 && validationRows <= region.Samples)
            throw new UsageException($"children.trust_region.samples: the search's separate holdout of {region.Samples} rows must leave validation rows " +
                $"for model selection (children.keep: {config.Children.Keep}), but the validation split has {validationRows}: " +
                "lower samples, raise data.validation, or set children.trust_region.holdout: shared");
        return (validationRows - count, count);
    }

    /// <summary>
    /// The rows model selection scores children on: the whole validation split, less a separate trust-region holdout.
    /// The caller disposes the result when it is not <paramref name="validation"/> itself.
    /// </summary>
    public static DataRows SelectionRows(ExperimentConfig config, DataRows validation)
    {
        if (config.Children.TrustRegion is not { Holdout: TrustRegionHoldout.Separate }) return validation;
        var (start, _) = Holdout(config, validation.Count);
        using var rows = arange(start, dtype: ScalarType.Int64);
        return validation.Subset(rows);
    }
}
