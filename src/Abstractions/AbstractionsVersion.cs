namespace SubnetworkEnsembles.Abstractions;

/// <summary>Version of these contracts; the host refuses plugins built against a different major version.</summary>
public static class AbstractionsVersion
{
    /// <summary>Major version of the contracts. Bump on any breaking change to an interface.</summary>
    public const int Major = 1;
}
