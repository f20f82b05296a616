namespace SubnetworkEnsembles.Experiments.Results;

/// <summary>
/// results.json "analyses[i]": what one analysis plugin returned — its scalars, tables and figures (files relative to
/// the run directory, under analyses/NAME/) — and how long it took.
/// </summary>
public sealed record AnalysisResult
{
    /// <summary>The analysis plugin's name (its <c>type:</c>), e.g. "smoothgrad".</summary>
    public string Name { get; init; } = "";

    /// <summary>Named values (null in JSON where not finite).</summary>
    public IReadOnlyDictionary<string, double> Scalars { get; init; } = new Dictionary<string, double>();

    /// <summary>Named tables, rows × columns.</summary>
    public IReadOnlyList<AnalysisTableResult> Tables { get; init; } = [];

    /// <summary>Figures, paths relative to the run directory.</summary>
    public IReadOnlyList<AnalysisFigureResult> Figures { get; init; } = [];

    /// <summary>Wall-clock seconds the analysis took (loading the networks included).</summary>
    public double Seconds { get; init; }
}

/// <summary>One table of an analysis: values[r][c] for row rows[r] and column columns[c].</summary>
public sealed record AnalysisTableResult
{
    /// <summary>The table's key, e.g. "rmse".</summary>
    public string Name { get; init; } = "";

    /// <summary>What it shows.</summary>
    public string Caption { get; init; } = "";

    /// <summary>Row labels.</summary>
    public IReadOnlyList<string> Rows { get; init; } = [];

    /// <summary>Column labels.</summary>
    public IReadOnlyList<string> Columns { get; init; } = [];

    /// <summary>Rows × columns values (null in JSON where not finite).</summary>
    public double[][] Values { get; init; } = [];
}

/// <summary>One figure of an analysis: a PNG in the run directory and its caption.</summary>
public sealed record AnalysisFigureResult
{
    /// <summary>Path relative to the run directory, e.g. "analyses/smoothgrad/maps.png".</summary>
    public string File { get; init; } = "";

    /// <summary>What it shows.</summary>
    public string Caption { get; init; } = "";
}
