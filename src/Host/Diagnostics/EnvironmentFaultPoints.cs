using System.Runtime.InteropServices;
using SubnetworkEnsembles.Experiments.Diagnostics;

namespace SubnetworkEnsembles.Host.Diagnostics;

/// <summary>
/// Fault injection for the resilience tests, from <c>SNE_FAULT</c> = <c>ACTION:POINT[#N]</c>, which fires the N-th time
/// (default 1st) the run reaches POINT (see <see cref="IFaultPoints"/> for the points; steps are counted over the whole
/// process):
/// <list type="bullet">
/// <item><c>kill</c> sends SIGKILL to this very process — a real, uncatchable kill at an exact place;</item>
/// <item><c>sigterm</c> and <c>sigint</c> send SIGTERM or SIGINT (a scheduler's stop, Ctrl+C) to this process and wait until
/// the run has seen the request to stop (<see cref="ObserveStopping"/>), so the graceful interruption always begins at
/// the same place: the next training step saves the exact resume point and the run exits 130;</item>
/// <item><c>enospc</c> throws the I/O error of a full disk there.</item>
/// </list>
/// </summary>
public sealed class EnvironmentFaultPoints : IFaultPoints, IDisposable
{
    private const int Sigint = 2, Sigkill = 9, Sigterm = 15;

    /// <summary>How long a <c>sigterm</c> or <c>sigint</c> fault waits for the run to see the signal before failing loudly.</summary>
    private static readonly TimeSpan SignalTimeout = TimeSpan.FromSeconds(60);

    private readonly (string Action, string Point, int Count) _spec;
    private readonly ManualResetEventSlim _stopping = new();
    private int _reached;

    private EnvironmentFaultPoints((string, string, int) spec) => _spec = spec;

    /// <summary>The fault points <paramref name="value"/> (SNE_FAULT's value) arms, or <see cref="NoFaultPoints"/> when it is empty or not a valid fault.</summary>
    public static IFaultPoints FromSetting(string? value) =>
        Parse(value) is { } spec ? new EnvironmentFaultPoints(spec) : NoFaultPoints.Instance;

    /// <summary>
    /// The fault points armed by this process's <c>SNE_FAULT</c>, one instance for the whole <c>sne</c> process, so
    /// <c>#N</c> counts over every experiment it runs (e.g. the points of a sweep).
    /// </summary>
    public static IFaultPoints ForThisProcess { get; } = FromSetting(Environment.GetEnvironmentVariable("SNE_FAULT"));

    /// <inheritdoc />
    public bool Enabled => true;

    /// <summary>Lets a signal fault know when the run has seen its request to stop (<paramref name="stopping"/> is cancelled).</summary>
    public void ObserveStopping(CancellationToken stopping) => stopping.Register(_stopping.Set);

    /// <summary>Releases the wait handle of the signal faults.</summary>
    public void Dispose() => _stopping.Dispose();

    /// <inheritdoc />
    public void At(string point)
    {
        if (_spec.Point != point || Interlocked.Increment(ref _reached) != _spec.Count) return;
        switch (_spec.Action)
        {
            case "kill":
                Console.Out.Flush();
                _ = kill(Environment.ProcessId, Sigkill);
                Thread.Sleep(Timeout.Infinite);
                break;
            case "sigterm" or "sigint":
                _ = kill(Environment.ProcessId, _spec.Action == "sigterm" ? Sigterm : Sigint);
                if (!_stopping.Wait(SignalTimeout))
                    throw new InvalidOperationException($"SNE_FAULT: the injected {_spec.Action.ToUpperInvariant()} at {point} did not stop the run within {SignalTimeout.TotalSeconds} s");
                break;
            default:
                throw new IOException($"No space left on device (injected at {point})", 28);
        }
    }

    private static (string, string, int)? Parse(string? value)
    {
        if (string.IsNullOrEmpty(value)) return null;
        int colon = value.IndexOf(':');
        if (colon <= 0) return null;
        string action = value[..colon], point = value[(colon + 1)..];
        int count = 1;
        int hash = point.LastIndexOf('#');
        if (hash > 0 && int.TryParse(point[(hash + 1)..], out int n)) (point, count) = (point[..hash], n);
        return action is "kill" or "sigterm" or "sigint" or "enospc" ? (action, point, count) : null;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
