using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Experiments.Configuration;
using SubnetworkEnsembles.Experiments.Plugins;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// Loads the experiment's data through its dataset plugin (<c>data.dataset</c>) and prepares it for the engine:
/// checks the splits (two classes or more, no empty split, labels within the classes), carves the validation rows from
/// the training split when the dataset has none of its own (a permutation seeded by <c>data.split_seed</c>: its first
/// <c>data.validation</c> rows validate, the rest train in their original order), truncates to
/// <c>train_subset</c>/<c>test_subset</c>, and normalises (x − mean) / std per channel or feature. Splits given as
/// tensors (<see cref="TensorSplit"/>) are held in memory; any other split is streamed (<see cref="StreamedRows"/>).
/// </summary>
public static class ExperimentData
{
    /// <summary>
    /// Loads and prepares the data of <paramref name="data"/>; relative paths in its options resolve against
    /// <paramref name="baseDirectory"/>; training-batch augmentation (data.augment) draws from <paramref name="runSeed"/>.
    /// </summary>
    public static DataSplits Load(PluginFactory plugins, DataConfig data, string baseDirectory, long runSeed = 0)
    {
        var source = plugins.Create<IDatasetSource>(data.Dataset);
        DatasetSplits splits;
        try
        {
            splits = source.Load(new DatasetContext(data.SplitSeed, baseDirectory, data.Validation));
        }
        catch (DataException e) { throw new DataFileException(e.Location, StripLocation(e)); }
        catch (Exception e) when (e is not (OperationCanceledException or SneException))
        {
            throw new PluginCallException($"{plugins.Describe(data.Dataset)} failed in Load: {e.Message}", e);
        }
        try
        {
            return Prepare(splits, data, runSeed);
        }
        catch (DataException e)
        {
            splits.Dispose();
            throw new DataFileException(e.Location, StripLocation(e));
        }
        catch
        {
            splits.Dispose();
            throw;
        }
    }

    private static string StripLocation(DataException e) =>
        e.Message.StartsWith(e.Location + ": ", StringComparison.Ordinal) ? e.Message[(e.Location.Length + 2)..] : e.Message;

    private static DataSplits Prepare(DatasetSplits splits, DataConfig data, long runSeed)
    {
        string name = data.Dataset.Type;
        Check(splits, name);
        DataRows train, validation, test;
        var normalization = Normalization.Identity;
        if (splits.Validation is null)
        {
            if (data.Validation >= splits.Train.Count)
                throw new DataException($"data.validation", $"{data.Validation} validation rows must be fewer than the {splits.Train.Count} training rows of '{name}'");
            using var g = new Generator((ulong)Seeds.Derive(data.SplitSeed, "validation-split"));
            using var perm = randperm(splits.Train.Count, generator: g);
            var validationRows = perm.narrow(0, 0, data.Validation).clone();
            var trainRows = perm.narrow(0, data.Validation, splits.Train.Count - data.Validation).sort().Values;
            if (data.TrainSubset > 0 && data.TrainSubset < trainRows.shape[0]) trainRows = trainRows.narrow(0, 0, data.TrainSubset).clone();
            normalization = NormalizationOf(splits, data, trainRows);
            train = Rows(splits.Train, trainRows, normalization, splits.InputShape);
            validation = Rows(splits.Train, validationRows, normalization, splits.InputShape);
        }
        else
        {
            Tensor? trainRows = data.TrainSubset > 0 && data.TrainSubset < splits.Train.Count ? arange(data.TrainSubset, dtype: ScalarType.Int64) : null;
            normalization = NormalizationOf(splits, data, trainRows);
            train = Rows(splits.Train, trainRows, normalization, splits.InputShape);
            validation = Rows(splits.Validation, null, normalization, splits.InputShape);
        }
        Tensor? testRows = data.TestSubset > 0 && data.TestSubset < splits.Test.Count ? arange(data.TestSubset, dtype: ScalarType.Int64) : null;
        test = Rows(splits.Test, testRows, normalization, splits.InputShape);
        bool streamed = train is StreamedRows || validation is StreamedRows || test is StreamedRows;
        if (!streamed) splits.Dispose();
        return new DataSplits(name, train, validation, test, splits.InputShape, splits.Classes)
        {
            ClassNames = splits.ClassNames,
            Normalization = normalization,
            Source = streamed ? splits : null,
            Augmentation = data.Augment is { } a && (a.CropPadding > 0 || a.HorizontalFlip)
                ? new Augmentation(Seeds.Derive(runSeed, "augmentation"), a.CropPadding, a.HorizontalFlip) : null,
        };
    }

    /// <summary>Rows <paramref name="rows"/> (null = all) of <paramref name="split"/>: copied and normalised in memory for a tensor split, else streamed.</summary>
    private static DataRows Rows(IDataSplit split, Tensor? rows, Normalization normalization, long[] shape)
    {
        if (split is not TensorSplit tensors) return new StreamedRows(split, rows, normalization, shape);
        var inputs = rows is null ? tensors.Inputs.clone() : tensors.Inputs.index_select(0, rows);
        var labels = rows is null ? tensors.Labels.clone() : tensors.Labels.index_select(0, rows);
        rows?.Dispose();
        Normalize(inputs, normalization, shape);
        return new InMemoryDataset(inputs, labels);
    }

    /// <summary>x ← (x − mean) / std in place, per channel [C, H, W] or feature [F] (scalar operations for one channel).</summary>
    internal static void Normalize(Tensor inputs, Normalization normalization, long[] shape)
    {
        if (normalization.IsIdentity) return;
        if (normalization.Mean.Length == 1)
        {
            inputs.sub_(normalization.Mean[0]).div_(normalization.Std[0]);
            return;
        }
        long[] view = shape.Length == 3 ? [normalization.Mean.Length, 1, 1] : [normalization.Mean.Length];
        using var mean = tensor(normalization.Mean).reshape(view);
        using var std = tensor(normalization.Std).reshape(view);
        inputs.sub_(mean).div_(std);
    }

    private static Normalization NormalizationOf(DatasetSplits splits, DataConfig data, Tensor? trainRows)
    {
        if (!data.Normalize) return Normalization.Identity;
        if (splits.Normalization is { } declared) return declared;
        if (trainRows is null) return NormalizationStatistics.Compute(splits.Train, data.ReadBatch);
        using var subset = new RowSubset(splits.Train, trainRows);
        return NormalizationStatistics.Compute(subset, data.ReadBatch);
    }

    private static void Check(DatasetSplits splits, string name)
    {
        if (splits.Classes < 2) throw new DataException($"dataset '{name}'", $"has {splits.Classes} class{(splits.Classes == 1 ? "" : "es")}; a classifier needs at least 2");
        if (splits.InputShape.Length == 0 || splits.InputShape.Any(d => d <= 0))
            throw new DataException($"dataset '{name}'", $"declares the sample shape [{string.Join(", ", splits.InputShape)}]; expected positive sizes");
        foreach (var (split, label) in new (IDataSplit?, string)[] { (splits.Train, "training"), (splits.Validation, "validation"), (splits.Test, "test") })
        {
            if (split is null) continue;
            if (split.Count == 0 && label != "validation") throw new DataException($"dataset '{name}'", $"the {label} split is empty");
            if (split.Count == 0) continue;
            if (split.Labels.shape.Length != 1 || split.Labels.shape[0] != split.Count)
                throw new DataException($"dataset '{name}'", $"the {label} split's labels have shape [{string.Join(", ", split.Labels.shape)}], expected [{split.Count}]");
            long min = split.Labels.min().ToInt64(), max = split.Labels.max().ToInt64();
            if (min < 0 || max >= splits.Classes)
            {
                long bad = min < 0 ? min : max;
                using var where = split.Labels.eq(bad).nonzero();
                throw new DataException($"dataset '{name}'", $"{label} row {where[0, 0].ToInt64()} has label {bad}, outside the {splits.Classes} classes 0 … {splits.Classes - 1}");
            }
        }
    }
}
