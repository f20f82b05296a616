using static TorchSharp.torch;

namespace SubnetworkEnsembles.Abstractions;

/// <summary>What a dataset plugin is told when it loads.</summary>
/// <param name="SplitSeed">Seed for anything the plugin draws (generated data, its own splits); fixed per experiment (data.split_seed).</param>
/// <param name="BaseDirectory">Directory of the configuration file: relative paths in the plugin's options are relative to it.</param>
/// <param name="ValidationRows">
/// data.validation: rows to hold out for validation. A plugin without a validation split of its own leaves
/// <see cref="DatasetSplits.Validation"/> null and the host carves these rows from the training split; a plugin that
/// generates data may instead generate them itself.
/// </param>
public sealed record DatasetContext(long SplitSeed, string BaseDirectory, int ValidationRows)
{
    /// <summary><paramref name="path"/> made absolute against <see cref="BaseDirectory"/> (unchanged when already absolute).</summary>
    public string Resolve(string path) => Path.GetFullPath(path, BaseDirectory);
}

/// <summary>
/// Rows of one split. The host reads them by row index, in batches: an in-memory split indexes tensors, a streamed split
/// (e.g. an image folder) reads and decodes only the rows asked for. Values are raw (images in [0, 1], table features as
/// given): the host normalises them (statistics from the training split, or <see cref="DatasetSplits.Normalization"/>)
/// and augments training batches.
/// </summary>
public interface IDataSplit : IDisposable
{
    /// <summary>Number of rows N.</summary>
    long Count { get; }

    /// <summary>All labels, int64 [N] on the CPU, each in 0 … C − 1. Owned by the split.</summary>
    Tensor Labels { get; }

    /// <summary>
    /// The inputs of <paramref name="rows"/> (int64 [B] on the CPU, each in 0 … N − 1), float32 [B, …InputShape] on the
    /// CPU, in the order asked. The caller owns the result. Throw <see cref="DataException"/> for a row that cannot be read.
    /// </summary>
    Tensor Read(Tensor rows);
}

/// <summary>Per-channel (images [C, H, W]) or per-feature (tables [F]) normalisation: x′ = (x − Mean) / Std.</summary>
/// <param name="Mean">One value per channel (or per feature).</param>
/// <param name="Std">One positive value per channel (or per feature).</param>
public sealed record Normalization(float[] Mean, float[] Std)
{
    /// <summary>No change: x′ = x.</summary>
    public static Normalization Identity { get; } = new([], []);

    /// <summary>True for <see cref="Identity"/> (no statistics).</summary>
    public bool IsIdentity => Mean.Length == 0;
}

/// <summary>The splits of one task and what a model needs to know about it.</summary>
public sealed class DatasetSplits : IDisposable
{
    /// <summary>Training rows.</summary>
    public required IDataSplit Train { get; init; }

    /// <summary>
    /// Validation rows of the dataset's own, or null: the host then carves <c>data.validation</c> rows from
    /// <see cref="Train"/> with a permutation seeded by the split seed.
    /// </summary>
    public IDataSplit? Validation { get; init; }

    /// <summary>The test rows.</summary>
    public required IDataSplit Test { get; init; }

    /// <summary>Shape of one sample: [C, H, W] for images, [F] for feature vectors.</summary>
    public required long[] InputShape { get; init; }

    /// <summary>Class names in label order; their count is the number of classes C.</summary>
    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>Number of classes C.</summary>
    public int Classes => ClassNames.Count;

    /// <summary>True when samples are images [C, H, W] (corruptions and image augmentation apply).</summary>
    public bool IsImage => InputShape.Length == 3;

    /// <summary>
    /// Published statistics to normalise with (e.g. Fashion-MNIST's mean 0.2860, std 0.3530), <see cref="Normalization.Identity"/>
    /// for data that must not be normalised, or null: the host computes them from the training split.
    /// </summary>
    public Normalization? Normalization { get; init; }

    /// <inheritdoc />
    public void Dispose()
    {
        Train.Dispose();
        Validation?.Dispose();
        Test.Dispose();
    }
}

/// <summary>
/// A data source (<see cref="PluginKind.Dataset"/>, selected by <c>data: { dataset: NAME, … }</c>; the keys beside
/// <c>dataset:</c> that are not the host's own — validation, train_subset, test_subset, split_seed, normalize, augment —
/// are the plugin's options).
/// </summary>
public interface IDatasetSource
{
    /// <summary>
    /// Loads (or opens, for streamed data) the splits. Throw <see cref="DataException"/> for a missing or malformed file,
    /// naming the file and the row or column; the host reports it as the user's mistake (exit code 2).
    /// </summary>
    DatasetSplits Load(DatasetContext context);
}

/// <summary>
/// Bad user data found by a plugin: a missing, unreadable or malformed file, a row or a value. The host reports
/// "<see cref="Location"/>: message" in one line and exits with code 2 (the user's mistake), not 3 (a plugin fault).
/// </summary>
public sealed class DataException(string source, string message, Exception? inner = null) : Exception($"{source}: {message}", inner)
{
    /// <summary>The file (with row/column where known) or option the problem is in.</summary>
    public string Location { get; } = source;
}

/// <summary>A split held in memory: inputs float32 [N, …] and labels int64 [N], both on the CPU, owned by the split.</summary>
public sealed class TensorSplit(Tensor inputs, Tensor labels) : IDataSplit
{
    /// <summary>Inputs, float32 [N, …].</summary>
    public Tensor Inputs { get; } = inputs;

    /// <inheritdoc />
    public Tensor Labels { get; } = labels;

    /// <inheritdoc />
    public long Count => Labels.shape[0];

    /// <inheritdoc />
    public Tensor Read(Tensor rows) => Inputs.index_select(0, rows);

    /// <inheritdoc />
    public void Dispose() { Inputs.Dispose(); Labels.Dispose(); }
}
