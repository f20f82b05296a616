using System.Runtime.InteropServices;

namespace SubnetworkEnsembles.Experiments.Diagnostics;

/// <summary>
/// Fault injection for the resilience tests, off unless <c>SNE_FAULT</c> is set to <c>ACTION:POINT[#N]</c>, which fires
/// the N-th time (default 1st) this process reaches POINT:
/// <list type="bullet">
/// <item><c>kill</c> sends SIGKILL to this very process — a real, uncatchable kill at an exact place;</item>
/// <item><c>sigterm</c> and <c>sigint</c> send SIGTERM or SIGINT (a scheduler's stop, Ctrl+C) to this process and wait until
/// the run has seen the request to stop (<see cref="ObserveStopping"/>), so the graceful interruption always begins at
/// the same place: the next training step saves the exact resume point and the run exits 130;</item>
/// <item><c>enospc</c> throws the I/O error of a full disk there.</item>
/// </list>
/// Points: <c>parent-step</c> and <c>child-step</c> (after a training step, counted over the whole process),
/// <c>parent-epoch</c> (after the resume point is saved), <c>child-start</c>, <c>child-written</c> (checkpoint and
/// predictions written, results not yet), <c>child-done</c>, <c>report</c> (figures drawn, report files not yet),
/// <c>trust-region</c> (one σ × sparsity setting of the search measured), and <c>write:FILE</c> (FILE's temporary copy
/// is complete, the rename into place has not happened).
/// </summary>
public static class FaultInjection
{
    private const int Sigint = 2, Sigkill = 9, Sigterm = 15;

    /// <summary>How long a <c>sigterm</c> or <c>sigint</c> fault waits for the run to see the signal before failing loudly.</summary>
    private static readonly TimeSpan SignalTimeout = TimeSpan.FromSeconds(60);

    private static readonly (string Action, string Point, int Count)? Spec = Parse(Environment.GetEnvironmentVariable("SNE_FAULT"));
    private static readonly ManualResetEventSlim Stopping = new();
    private static int _reached;

    /// <summary>Whether a fault is armed (callers skip building point names otherwise).</summary>
    public static bool Enabled => Spec is not null;

    /// <summary>Lets a signal fault know when the run has seen its request to stop (<paramref name="stopping"/> is cancelled).</summary>
    public static void ObserveStopping(CancellationToken stopping)
    {
        if (Enabled) stopping.Register(Stopping.Set);
    }

    /// <summary>Marks that execution reached <paramref name="point"/>; fires the armed fault there.</summary>
    public static void At(string point)
    {
        if (Spec is not { } spec || spec.Point != point || Interlocked.Increment(ref _reached) != spec.Count) return;
        switch (spec.Action)
        {
            case "kill":
                Console.Out.Flush();
                kill(Environment.ProcessId, Sigkill);
                Thread.Sleep(Timeout.Infinite);
                break;
            case "sigterm" or "sigint":
                kill(Environment.ProcessId, spec.Action == "sigterm" ? Sigterm : Sigint);
                if (!Stopping.Wait(SignalTimeout))
                    throw new InvalidOperationException($"SNE_FAULT: the injected {spec.Action.ToUpperInvariant()} at {point} did not stop the run within {SignalTimeout.TotalSeconds} s");
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
