using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Testing.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Testing;

/// <summary>
/// The contract of <see cref="IDatasetSource"/> in one call: train and test splits are not empty; every split's labels are
/// int64 [N] in 0 … C − 1 with at least two class names; <see cref="IDataSplit.Read"/> of the first rows returns float32
/// [B, …InputShape] in the order asked; two loads with the same split seed give the same rows (a dataset drawn at random
/// must draw from <see cref="DatasetContext.SplitSeed"/>).
/// </summary>
public static class DatasetContract
{
    /// <summary>
    /// Checks the dataset made by <paramref name="create"/>, loaded with relative paths resolved against
    /// <paramref name="baseDirectory"/> (the current directory by default) and <paramref name="validationRows"/> rows to hold out.
    /// </summary>
    public static void Check(Func<IDatasetSource> create, string? baseDirectory = null, int validationRows = 0)
    {
        string plugin = PluginNames.Of(create(), "dataset");
        var context = new DatasetContext(SplitSeed: 3, baseDirectory ?? Environment.CurrentDirectory, validationRows);
        using var first = create().Load(context);
        using var again = create().Load(context);
        if (first.ClassNames.Count < 2) throw new ContractException(plugin, $"{first.ClassNames.Count} class name(s); a classification task needs at least 2");
        foreach (var (name, split, repeat) in new[] { ("train", first.Train, again.Train), ("validation", first.Validation, again.Validation), ("test", first.Test, again.Test) })
        {
            if (split is null) continue;
            if (split.Count == 0 && name != "validation") throw new ContractException(plugin, $"the {name} split is empty");
            CheckSplit(plugin, name, split, first);
            if (repeat is null || repeat.Count != split.Count) throw new ContractException(plugin, $"two loads with the same split seed give different {name} splits");
            using var scope = NewDisposeScope();
            var rows = arange(Math.Min(split.Count, 16), dtype: ScalarType.Int64);
            if (!Tensors.Same(split.Labels, repeat.Labels) || !Tensors.Same(split.Read(rows), repeat.Read(rows)))
                throw new ContractException(plugin, $"two loads with the same split seed give different {name} rows; draw only from context.SplitSeed");
        }
    }

    private static void CheckSplit(string plugin, string name, IDataSplit split, DatasetSplits splits)
    {
        using var scope = NewDisposeScope();
        var labels = split.Labels;
        if (labels.dtype != ScalarType.Int64 || !labels.shape.SequenceEqual([split.Count]))
            throw new ContractException(plugin, $"{name} labels are {labels.dtype} {Tensors.Shape(labels)}, expected Int64 [{split.Count}]");
        if (split.Count > 0 && (labels.min().ToInt64() < 0 || labels.max().ToInt64() >= splits.Classes))
            throw new ContractException(plugin, $"{name} labels are outside 0 … {splits.Classes - 1}");
        long b = Math.Min(split.Count, 4);
        var rows = arange(b - 1, -1, -1, dtype: ScalarType.Int64);
        var read = split.Read(rows);
        if (read.dtype != ScalarType.Float32 || !read.shape.SequenceEqual([b, .. splits.InputShape]))
            throw new ContractException(plugin, $"{name}.Read of {b} rows returned {read.dtype} {Tensors.Shape(read)}, expected Float32 [{b}, {string.Join(", ", splits.InputShape)}]");
        if (b > 1)
        {
            var single = split.Read(arange(b - 1, b, dtype: ScalarType.Int64));
            if (!Tensors.Same(single[0], read[0])) throw new ContractException(plugin, $"{name}.Read does not return rows in the order asked");
        }
    }
}
