using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Native;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Host.Configuration;
using SubnetworkEnsembles.Experiments.Pipeline;
using SubnetworkEnsembles.Experiments.Plugins;

namespace SubnetworkEnsembles.Host;

/// <summary>Failures → one line on stderr and an exit code (<see cref="ExitCodes"/>).</summary>
public static partial class Commands
{
    /// <summary>Runs a command; maps failures to one message on stderr and an exit code (a trace only with --verbose).</summary>
    internal static int Guard(bool verbose, Func<int> action)
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

    internal static int Fail(string message, int code, Exception? detail)
    {
        Console.Error.WriteLine($"sne: error: {message}");
        if (detail is not null) Console.Error.WriteLine(detail);
        return code;
    }
}

