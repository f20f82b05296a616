namespace SubnetworkEnsembles.Experiments.Configuration;

/// <summary>
/// The <c>data:</c> block: which dataset plugin (<c>dataset: NAME</c>) and how the host splits, normalises and augments
/// it. Keys that are not the host's own are the dataset plugin's options, written beside it:
/// <c>data: { dataset: csv, path: iris.csv, label: species, validation: 20 }</c>.
/// </summary>
public sealed class DataConfig
{
    /// <summary>The dataset plugin; its options are the other keys of the block.</summary>
    [InlineOptions]
    public PluginSpec Dataset { get; init; } = PluginSpec.Named("fashion-mnist");

    /// <summary>
    /// The folder relative paths in the dataset's options resolve against. <c>sne</c> sets it to the configuration file's
    /// folder (recorded absolutely in the run's config.yaml, so a stage run from anywhere reads the same files); null in
    /// C# means the current directory.
    /// </summary>
    public string? Root { get; set; }

    /// <summary>Rows carved from the training split for validation (never trained on), unless the dataset has its own validation split.</summary>
    public int Validation { get; init; } = 5000;

    /// <summary>Use only the first N training rows after the split (0 = all). For quick runs and tests.</summary>
    public int TrainSubset { get; init; }

    /// <summary>Use only the first N test rows (0 = all).</summary>
    public int TestSubset { get; init; }

    /// <summary>Seed of the train/validation split and of generated data; fixed by default so every run shares one split.</summary>
    public long SplitSeed { get; init; }

    /// <summary>
    /// Normalise inputs x′ = (x − mean) / std per channel (images) or feature (tables): with the dataset's published
    /// statistics when it declares them, otherwise computed from the training split and stored in the run (normalization.json).
    /// </summary>
    public bool Normalize { get; init; } = true;

    /// <summary>Augmentation of training batches (images only); null = none.</summary>
    public AugmentationConfig? Augment { get; init; }

    /// <summary>Rows read per batch when the host streams a split (statistics, evaluation of streamed data).</summary>
    public int ReadBatch { get; init; } = 1024;

    internal IEnumerable<(string, string)> Validate()
    {
        if (Validation < 0) yield return ("data.validation", $"must be ≥ 0, got {Validation}");
        if (TrainSubset < 0) yield return ("data.train_subset", $"must be ≥ 0 (0 = all), got {TrainSubset}");
        if (TestSubset < 0) yield return ("data.test_subset", $"must be ≥ 0 (0 = all), got {TestSubset}");
        if (ReadBatch < 1) yield return ("data.read_batch", $"must be ≥ 1, got {ReadBatch}");
        if (Augment is not null) foreach (var p in Augment.Validate()) yield return p;
    }
}

/// <summary>
/// Augmentation of training batches (never of validation or test rows): row r of epoch e draws only from
/// (seed, e, r), so a row is augmented the same way whatever batch it lands in, and a resumed run equals an uninterrupted one.
/// </summary>
public sealed class AugmentationConfig
{
    /// <summary>Random crop back to the image size after padding every side by this many pixels (0 = no crop).</summary>
    public int CropPadding { get; init; }

    /// <summary>Flip each image horizontally with probability ½.</summary>
    public bool HorizontalFlip { get; init; }

    internal IEnumerable<(string, string)> Validate()
    {
        if (CropPadding < 0) yield return ("data.augment.crop_padding", $"must be ≥ 0, got {CropPadding}");
    }
}

/// <summary>
/// Marks a <see cref="PluginSpec"/> property whose plugin options are the sibling keys of its block that are not
/// properties of the block's class (as the dataset's options in <c>data:</c>).
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class InlineOptionsAttribute : Attribute;
