using System.Text.Json.Serialization;
using SubnetworkEnsembles.Experiments.Pipeline;

namespace SubnetworkEnsembles.Experiments.Results;

/// <summary>
/// The results of a finished run: results.json, written last by the ensemble stage. Keys in order: name, method, seed,
/// data, parent, members, ensemble, trust_region, cost, corrupted, analyses, seconds, threads, versions, plugins (optional ones
/// absent when the run has none, or was made by an earlier version).
/// </summary>
public sealed record ExperimentResults
{
    /// <summary>The experiment's name.</summary>
    public string Name { get; init; } = "";

    /// <summary>The method (e.g. "subnetwork-ensemble").</summary>
    public string? Method { get; init; }

    /// <summary>The run seed.</summary>
    public long Seed { get; init; }

    /// <summary>The data set and its split sizes.</summary>
    public DataSummary Data { get; init; } = new();

    /// <summary>The parent (without its stage seconds, which are in <see cref="Seconds"/>).</summary>
    public ParentResult Parent { get; init; } = new();

    /// <summary>Every child in index order, finished or failed.</summary>
    public IReadOnlyList<MemberResult> Members { get; init; } = [];

    /// <summary>The combined ensemble.</summary>
    public EnsembleResult Ensemble { get; init; } = new();

    /// <summary>The trust-region search, when one ran.</summary>
    public TrustRegionReport? TrustRegion { get; init; }

    /// <summary>FLOPs, epochs and parameters.</summary>
    public RunCost? Cost { get; init; }

    /// <summary>The corrupted test sets, when configured.</summary>
    public CorruptedResults? Corrupted { get; init; }

    /// <summary>What the configured analyses (and later <c>sne analyze</c>) returned, one entry per analysis; absent when none ran.</summary>
    public IReadOnlyList<AnalysisResult>? Analyses { get; init; }

    /// <summary>Wall-clock seconds per stage.</summary>
    public RunSeconds? Seconds { get; init; }

    /// <summary>CPU threads LibTorch used.</summary>
    public int? Threads { get; init; }

    /// <summary>Versions of the framework and LibTorch binding that made the run.</summary>
    public Provenance? Versions { get; init; }

    /// <summary>Every plugin the run used, with its assembly, version and SHA-256 (absent in files of earlier versions).</summary>
    public IReadOnlyList<PluginRecord>? Plugins { get; init; }

    /// <summary>
    /// Reads results.json at <paramref name="path"/> (this version's or an earlier one's), checked for the keys its readers
    /// use and for ensemble members that exist; <see cref="CorruptFileException"/> naming the file and problem when damaged.
    /// </summary>
    public static ExperimentResults Read(string path)
    {
        var results = ResultsSerializer.Deserialize<ExperimentResults>(JsonShape.Check(RunFiles.ReadJson(path), path, RunFiles.ResultsShape), path);
        var children = results.Members.Select(m => m.Index).ToHashSet();
        foreach (int i in results.Ensemble.MemberIndices)
            if (i != -1 && !children.Contains(i))
                throw new CorruptFileException(path, $"lists ensemble member {i}, which is not among its members ({string.Join(", ", children.Order())})");
        return results;
    }

    /// <summary>Writes results.json to <paramref name="path"/> atomically.</summary>
    public void Write(string path, Diagnostics.IFaultPoints? faults = null) => RunDirectory.WriteAllTextAtomic(path, ToJson(), faults);

    /// <summary>The indented JSON text of results.json.</summary>
    public string ToJson() => ResultsSerializer.Serialize(this);
}

/// <summary>results.json "data": the data set's name and its split sizes in rows.</summary>
public sealed record DataSummary
{
    /// <summary>The data set's name.</summary>
    public string Dataset { get; init; } = "";

    /// <summary>Training rows.</summary>
    public long Train { get; init; }

    /// <summary>Validation rows.</summary>
    public long Validation { get; init; }

    /// <summary>Test rows.</summary>
    public long Test { get; init; }
}

/// <summary>results.json "seconds": wall-clock seconds per stage; total = data + parent + trust_region + children + ensemble.</summary>
public sealed record RunSeconds
{
    /// <summary>Loading the data.</summary>
    public double Data { get; init; }

    /// <summary>Building and training the parent.</summary>
    public double Parent { get; init; }

    /// <summary>The trust-region search (0 without one).</summary>
    public double TrustRegion { get; init; }

    /// <summary>Making the children, summed.</summary>
    public double Children { get; init; }

    /// <summary>The ensemble stage (gather, combine, evaluate, corruptions, report).</summary>
    public double Ensemble { get; init; }

    /// <summary>The sum of the stages.</summary>
    public double Total { get; init; }
}

/// <summary>results.json "versions": assembly versions of what made the run.</summary>
public sealed record Provenance
{
    /// <summary>The framework (SubnetworkEnsembles.Experiments).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Sne { get; init; }

    /// <summary>TorchSharp.</summary>
    [JsonPropertyName("torchsharp")]
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? TorchSharp { get; init; }

    /// <summary>SubnetworkEnsembles.Abstractions, the plugin contracts.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Abstractions { get; init; }
}
