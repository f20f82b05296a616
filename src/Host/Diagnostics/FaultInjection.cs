using System.Runtime.InteropServices;

namespace SubnetworkEnsembles.Host.Diagnostics;

/// <summary>
/// Fault injection for the resilience tests, off unless <c>SNE_FAULT</c> is set:
/// <c>SNE_FAULT=kill:POINT[#N]</c> sends SIGKILL to this very process the N-th time (default 1st) it reaches POINT —
/// a real, uncatchable kill at an exact place — and <c>SNE_FAULT=enospc:POINT[#N]</c> throws the I/O error of a full
/// disk there; <c>SNE_FAULT=sigint:POINT[#N]</c> and <c>SNE_FAULT=sigterm:POINT[#N]</c> send SIGINT (Ctrl+C) or SIGTERM
/// to this process there and wait until the host has turned the signal into a stop request, so a graceful interrupt
/// lands at an exact step (training stops before the next one). Points: <c>parent-step</c>, <c>parent-epoch</c> (after
/// the resume point is saved), <c>child-start</c>, <c>child-step</c>, <c>child-written</c> (checkpoint and predictions
/// written, results not yet), <c>child-done</c>, <c>report</c> (figures drawn, report files not yet),
/// <c>trust-region</c> (one σ × sparsity setting of the search measured), and <c>write:FILE</c> (FILE's temporary copy
/// is complete, the rename into place has not happened).
/// </summary>
public static class FaultInjection
{
    private static readonly (string Action, string Point, int Count)? Spec = Parse(Environment.GetEnvironmentVariable("SNE_FAULT"));
    private static int _reached;
    private static CancellationToken _stopping;

    /// <summary>Whether a fault is armed (callers skip building point names otherwise).</summary>
    public static bool Enabled => Spec is not null;

    /// <summary>
    /// The token a SIGINT or SIGTERM cancels (the host's stop request); the signal actions wait for it, so the run stops
    /// at the first cancellation check after the point, not at whichever step the signal thread happens to reach.
    /// </summary>
    public static void Watch(CancellationToken stopping) => _stopping = stopping;

    /// <summary>Marks that execution reached <paramref name="point"/>; fires the armed fault there.</summary>
    public static void At(string point)
    {
        if (Spec is not { } spec || spec.Point != point || Interlocked.Increment(ref _reached) != spec.Count) return;
        if (spec.Action == "kill")
        {
            Console.Out.Flush();
            kill(Environment.ProcessId, 9);
            Thread.Sleep(Timeout.Infinite);
        }
        if (spec.Action is "sigint" or "sigterm")
        {
            kill(Environment.ProcessId, spec.Action == "sigint" ? Sigint : Sigterm);
            if (!_stopping.CanBeCanceled || !_stopping.WaitHandle.WaitOne(TimeSpan.FromMinutes(1)))
                throw new InvalidOperationException($"SNE_FAULT: the {spec.Action} sent at {point} did not stop the run within a minute");
            return;
        }
        throw new IOException($"No space left on device (injected at {point})", 28);
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
        return action is "kill" or "enospc" or "sigint" or "sigterm" ? (action, point, count) : null;
    }

    private const int Sigint = 2, Sigterm = 15;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
