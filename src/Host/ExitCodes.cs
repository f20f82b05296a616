namespace SubnetworkEnsembles.Host;

/// <summary>The process exit codes of <c>sne</c> (documented in the README).</summary>
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
