namespace SubnetworkEnsembles.Host;

/// <summary>
/// Failures of a command → one line <c>sne: error: …</c> on stderr and an exit code (<see cref="ExitCodes"/>): a
/// <see cref="SneException"/> by its own <see cref="SneException.ExitCode"/>, missing directories and denied access 2,
/// a full disk and anything unexpected 3, cancellation 130. A stack trace only with --verbose (always for the unexpected).
/// </summary>
public static class CommandErrors
{
    /// <summary>Runs <paramref name="action"/>; returns its exit code, or maps its failure to a message and an exit code.</summary>
    public static int Guard(bool verbose, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (SneException e) { return Fail(e.Describe(), e.ExitCode, verbose ? e : null); }
        catch (DirectoryNotFoundException e) { return Fail(e.Message, ExitCodes.ConfigurationError, verbose ? e : null); }
        catch (IOException e) when (e.HResult == 28 || e.Message.Contains("No space left", StringComparison.Ordinal))
        {
            return Fail($"the disk is full: {e.Message}. Finished work and the last checkpoint are intact; free space and run the same command again to resume",
                ExitCodes.RuntimeFailure, verbose ? e : null);
        }
        catch (UnauthorizedAccessException e) { return Fail(e.Message, ExitCodes.ConfigurationError, verbose ? e : null); }
        catch (OperationCanceledException) { return Fail("interrupted", ExitCodes.Interrupted, null); }
        catch (Exception e) { return Fail($"unexpected failure: {e.Message}", ExitCodes.RuntimeFailure, e); }
    }

    /// <summary>Writes <c>sne: error: <paramref name="message"/></c> (and <paramref name="detail"/>'s trace, if any) to stderr; returns <paramref name="code"/>.</summary>
    public static int Fail(string message, int code, Exception? detail)
    {
        Console.Error.WriteLine($"sne: error: {message}");
        if (detail is not null) Console.Error.WriteLine(detail);
        return code;
    }
}
