namespace SubnetworkEnsembles.Engine;

/// <summary>The process exit codes of <c>sne</c> (documented in the README), carried by every <see cref="SneException"/>.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;
    /// <summary>Usage or configuration error (bad YAML, unknown plugin or key, invalid value, missing data file).</summary>
    public const int ConfigurationError = 2;
    /// <summary>Runtime failure (LibTorch cannot load, a plugin fails to load or throws, training diverged).</summary>
    public const int RuntimeFailure = 3;
    /// <summary>Interrupted by Ctrl+C or SIGTERM.</summary>
    public const int Interrupted = 130;
}

/// <summary>
/// A failure the framework explains in one line (<see cref="Exception.Message"/>, no stack trace needed) with the exit
/// code a command-line host should end with: <see cref="ExitCodes.ConfigurationError"/> for the user's mistake,
/// <see cref="ExitCodes.RuntimeFailure"/> for a runtime or plugin fault.
/// </summary>
public abstract class SneException(string message, int exitCode, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The exit code a host ends with for this failure.</summary>
    public int ExitCode { get; } = exitCode;

    /// <summary>The one line shown to the user (the message, with context where the type adds some).</summary>
    public virtual string Describe() => Message;
}
