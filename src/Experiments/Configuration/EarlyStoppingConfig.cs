using SubnetworkEnsembles.Engine.Training;

namespace SubnetworkEnsembles.Experiments.Configuration;

/// <summary>
/// The <c>early_stopping:</c> block of <c>parent:</c> or <c>children.tuning:</c>: stop the stage when the validation
/// <see cref="Metric"/> has not improved for <see cref="Patience"/> evaluations in a row (evaluations happen every
/// <c>validation_interval</c> epochs), and with <see cref="RestoreBest"/> end the stage with its best evaluated epoch's weights.
/// Only the validation split is used, never test data.
/// </summary>
public sealed class EarlyStoppingConfig
{
    /// <summary>The validation value watched: <c>nll</c> (lower is better) or <c>accuracy</c> (higher is better).</summary>
    public StoppingMetric Metric { get; init; } = StoppingMetric.Nll;

    /// <summary>Evaluations without a strict improvement after which the stage stops (≥ 1).</summary>
    public int Patience { get; init; } = 3;

    /// <summary>End the stage with the weights of its best evaluated epoch (a copy of the state dict is kept in memory).</summary>
    public bool RestoreBest { get; init; } = true;

    /// <summary>The trainer's settings.</summary>
    public EarlyStoppingSettings Settings => new(Metric, Patience, RestoreBest);

    internal IEnumerable<(string, string)> Validate(string path, int validationInterval)
    {
        if (Patience < 1) yield return ($"{path}.early_stopping.patience", $"must be ≥ 1, got {Patience}");
        if (validationInterval < 1)
            yield return ($"{path}.early_stopping", $"watches validation evaluations, but {path}.validation_interval is {validationInterval} (never): set it to ≥ 1");
    }
}
