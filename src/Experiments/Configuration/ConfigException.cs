namespace SubnetworkEnsembles.Experiments.Configuration;

/// <summary>Where in the configuration a problem is: file (or "--set key"), 1-based line and column, key path.</summary>
public sealed record ConfigLocation(string Source, long Line, long Column, string KeyPath)
{
    /// <summary>The source of a location known only by its key path (a check made outside any YAML file); a host that read the YAML places it.</summary>
    public const string Unplaced = "configuration";

    /// <summary>The location of <paramref name="keyPath"/> in no particular file (<see cref="Unplaced"/>).</summary>
    public static ConfigLocation OfKey(string keyPath) => new(Unplaced, 0, 0, keyPath);

    /// <inheritdoc />
    public override string ToString() =>
        (Line > 0 ? $"{Source}:{Line}:{Column}" : Source) + (KeyPath.Length > 0 ? $": {KeyPath}" : "");
}

/// <summary>One problem with the configuration.</summary>
public sealed record ConfigProblem(ConfigLocation Location, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Location}: {Message}";
}

/// <summary>
/// The configuration is wrong: every problem found, each with its file, line, column and key path.
/// A user mistake: reported without a stack trace, exit code 2.
/// </summary>
public sealed class ConfigException(IReadOnlyList<ConfigProblem> problems)
    : SneException(problems.Count == 1 ? problems[0].ToString() : $"{problems.Count} configuration problems:{Environment.NewLine}" + string.Join(Environment.NewLine, problems.Select(p => "  " + p)),
        ExitCodes.ConfigurationError)
{
    /// <summary>Creates an exception for a single problem.</summary>
    public ConfigException(ConfigLocation location, string message) : this([new ConfigProblem(location, message)]) { }

    /// <summary>Every problem found.</summary>
    public IReadOnlyList<ConfigProblem> Problems { get; } = problems;
}
