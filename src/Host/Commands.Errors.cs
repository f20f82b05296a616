using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Native;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Host.Configuration;
using SubnetworkEnsembles.Host.Pipeline;
using SubnetworkEnsembles.Host.Plugins;

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
        catch (ConfigException e) { return Fail(e.Message, ExitCodes.ConfigurationError, verbose ? e : null); }
        catch (UsageException e) { return Fail(e.Message, ExitCodes.ConfigurationError, verbose ? e : null); }
        catch (IncompleteRunException e) { return Fail(e.Message, ExitCodes.RuntimeFailure, verbose ? e : null); }
        catch (DirectoryNotFoundException e) { return Fail(e.Message, ExitCodes.ConfigurationError, verbose ? e : null); }
        catch (DataFileException e) { return Fail("data: " + e.Message, ExitCodes.ConfigurationError, verbose ? e : null); }
        catch (RunDirectoryExistsException e) { return Fail(e.Message, ExitCodes.ConfigurationError, verbose ? e : null); }
        catch (LibTorchUnavailableException e) { return Fail(e.Message, e.Message.Contains("CUDA", StringComparison.Ordinal) ? ExitCodes.ConfigurationError : ExitCodes.RuntimeFailure, verbose ? e : null); }
        catch (PluginLoadException e) { return Fail(e.Message, ExitCodes.RuntimeFailure, verbose ? e : null); }
        catch (PluginCallException e) { return Fail(e.Message, ExitCodes.RuntimeFailure, verbose ? e : null); }
        catch (CorruptFileException e) { return Fail(e.Message, ExitCodes.RuntimeFailure, verbose ? e : null); }
        catch (IOException e) when (e.HResult == 28 || e.Message.Contains("No space left", StringComparison.Ordinal))
        {
            return Fail($"the disk is full: {e.Message}. Finished work and the last checkpoint are intact; free space and run the same command again to resume",
                ExitCodes.RuntimeFailure, verbose ? e : null);
        }
        catch (ParentWeightsException e) { return Fail(e.Message, ExitCodes.ConfigurationError, verbose ? e : null); }
        catch (UnauthorizedAccessException e) { return Fail(e.Message, ExitCodes.ConfigurationError, verbose ? e : null); }
        catch (TrainingDivergedException e) { return Fail(e.Message, ExitCodes.RuntimeFailure, verbose ? e : null); }
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

/// <summary>The command line asks for something that cannot work (a missing option, a mismatched configuration). Exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
