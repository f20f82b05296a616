namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>The stages of a run; a distributed run executes them as separate processes against one run directory.</summary>
public enum Stage
{
    /// <summary>Parent, every child, then the ensemble, in one process.</summary>
    All,
    /// <summary>Train and evaluate the parent (and run the trust-region search, when configured).</summary>
    Parent,
    /// <summary>Make, tune and evaluate one child from the saved parent.</summary>
    Child,
    /// <summary>Gather the children, select, combine, evaluate, write results.json.</summary>
    Ensemble,
}

/// <summary>A stage lacks what an earlier stage makes: a child without its parent, or an ensemble whose parent or children are missing or failed.</summary>
public sealed class IncompleteRunException(string message) : SneException(message, ExitCodes.RuntimeFailure);
