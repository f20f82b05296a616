namespace SubnetworkEnsembles.Experiments.Results;

/// <summary>A metric was asked for that the results do not hold: it is not among the experiment's configured <c>metrics:</c>.</summary>
public sealed class MissingMetricException(string metric, IEnumerable<string> present)
    : SneException($"metric '{metric}' is not in the results (they hold: {Describe(present)}); add it under metrics: in the experiment's configuration",
        ExitCodes.ConfigurationError)
{
    /// <summary>The metric asked for.</summary>
    public string Metric { get; } = metric;

    private static string Describe(IEnumerable<string> present) => string.Join(", ", present) is { Length: > 0 } list ? list : "no metrics";
}
