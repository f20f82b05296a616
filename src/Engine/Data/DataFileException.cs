namespace SubnetworkEnsembles.Engine.Data;

/// <summary>A data file that is missing, unreadable or not what it claims to be.</summary>
public sealed class DataFileException(string path, string message) : SneException($"{path}: {message}", ExitCodes.ConfigurationError)
{
    /// <summary>The offending file.</summary>
    public string Path { get; } = path;

    /// <inheritdoc/>
    public override string Describe() => "data: " + Message;
}
