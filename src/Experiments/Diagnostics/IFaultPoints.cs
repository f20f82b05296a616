namespace SubnetworkEnsembles.Experiments.Diagnostics;

/// <summary>
/// Named places in a run where a test may inject a fault (a kill, a signal, a full disk). The pipeline calls
/// <see cref="At"/> as it passes each point: <c>parent-step</c> and <c>child-step</c> (after a training step),
/// <c>parent-epoch</c> (after the resume point is saved), <c>child-start</c>, <c>child-written</c> (checkpoint and
/// predictions written, results not yet), <c>child-done</c>, <c>report</c> (figures drawn, report files not yet),
/// <c>trust-region</c> (one σ × sparsity setting measured) and <c>write:FILE</c> (FILE's temporary copy complete, the
/// rename into place not yet done). The default, <see cref="NoFaultPoints"/>, does nothing.
/// </summary>
public interface IFaultPoints
{
    /// <summary>Whether any point can fire (callers skip building point names otherwise).</summary>
    bool Enabled { get; }

    /// <summary>Marks that execution reached <paramref name="point"/>; an implementation may fail or stop the process here.</summary>
    void At(string point);
}

/// <summary>The fault points that never fire: what a run uses unless a host injects others.</summary>
public sealed class NoFaultPoints : IFaultPoints
{
    /// <summary>The one instance (it has no state).</summary>
    public static readonly NoFaultPoints Instance = new();

    private NoFaultPoints() { }

    /// <inheritdoc />
    public bool Enabled => false;

    /// <inheritdoc />
    public void At(string point) { }
}
