namespace SubnetworkEnsembles.Experiments;

/// <summary>A request that cannot work (a missing option, a mismatched configuration, a bad input file). Exit code 2.</summary>
public sealed class UsageException(string message) : SneException(message, ExitCodes.ConfigurationError);
