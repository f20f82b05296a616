namespace SubnetworkEnsembles.Engine.Data;

/// <summary>Datasets the engine can load.</summary>
public enum DatasetName
{
    /// <summary>Fashion-MNIST from its four original IDX files.</summary>
    FashionMnist,
    /// <summary>Two interleaved spirals, generated (SPEC §2).</summary>
    Spirals,
}

/// <summary>The <c>data:</c> block of an experiment.</summary>
public sealed class DataSpec
{
    /// <summary>Which dataset: <c>fashion-mnist</c> or <c>spirals</c>.</summary>
    public DatasetName Dataset { get; init; } = DatasetName.FashionMnist;

    /// <summary>Directory of the Fashion-MNIST IDX files (Debian's <c>dataset-fashion-mnist</c> installs them here).</summary>
    public string Directory { get; init; } = "/usr/share/datasets/fashion-mnist";

    /// <summary>Rows carved from the training file for validation (never trained on).</summary>
    public int Validation { get; init; } = 5000;

    /// <summary>Use only the first N training rows after the split (0 = all). For quick runs and tests.</summary>
    public int TrainSubset { get; init; }

    /// <summary>Use only the first N test rows (0 = all).</summary>
    public int TestSubset { get; init; }

    /// <summary>Seed of the train/validation split and of generated data; fixed by default so every run shares one split.</summary>
    public long SplitSeed { get; init; }

    /// <summary>Spirals: number of generated points for training + validation.</summary>
    public int Points { get; init; } = 2500;

    /// <summary>Spirals: number of generated test points.</summary>
    public int TestPoints { get; init; } = 250;

    /// <summary>Spirals: standard deviation of the Gaussian noise added to each coordinate.</summary>
    public double Noise { get; init; } = 1.0;

    /// <summary>Problems with these settings, empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (Validation < 0) yield return $"validation: must be ≥ 0, got {Validation}";
        if (TrainSubset < 0) yield return $"train_subset: must be ≥ 0 (0 = all), got {TrainSubset}";
        if (TestSubset < 0) yield return $"test_subset: must be ≥ 0 (0 = all), got {TestSubset}";
        if (Dataset == DatasetName.Spirals)
        {
            if (Points < 10) yield return $"points: must be ≥ 10, got {Points}";
            if (TestPoints < 2) yield return $"test_points: must be ≥ 2, got {TestPoints}";
            if (Noise < 0) yield return $"noise: must be ≥ 0, got {Noise}";
            if (Validation >= Points) yield return $"validation: must be smaller than points ({Points}), got {Validation}";
        }
    }
}
