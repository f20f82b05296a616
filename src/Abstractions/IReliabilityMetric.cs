namespace SubnetworkEnsembles.Abstractions;

/// <summary>
/// A calibration metric that bins predictions by confidence (e.g. <c>ece</c>): besides its values it gives its bins,
/// so a reliability diagram shows exactly the bins the metric's numbers come from.
/// </summary>
public interface IReliabilityMetric : IMetric
{
    /// <summary>The metric's confidence bins of the ensemble probabilities [N, C] of <paramref name="input"/> against its labels.</summary>
    ReliabilityBins Bins(MetricInput input);
}
