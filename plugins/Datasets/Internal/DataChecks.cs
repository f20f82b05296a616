using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Datasets.Internal;

/// <summary>The checks every dataset makes on its labels and splits, each failing with a one-line <see cref="DataException"/>.</summary>
public static class DataChecks
{
    /// <summary>
    /// The class count C implied by training labels: max label + 1. Throws for a negative label, for no labels and
    /// for a single class (C = 1: nothing to classify).
    /// </summary>
    public static int ClassCountOf(long[] labels, string location)
    {
        if (labels.Length == 0) throw new DataException(location, "has no rows; the training split needs at least one");
        int negative = Array.FindIndex(labels, l => l < 0);
        if (negative >= 0) throw new DataException(location, $"label {labels[negative]} at row {negative} is negative; labels are class indices 0 … C − 1");
        long max = labels.Max();
        if (max >= int.MaxValue) throw new DataException(location, $"label {max} is too large for a class index");
        RequireTwoClasses((int)max + 1, location);
        return (int)max + 1;
    }

    /// <summary>Throws unless <paramref name="classes"/> ≥ 2.</summary>
    public static void RequireTwoClasses(int classes, string location)
    {
        if (classes < 2) throw new DataException(location, $"has only one class; a classifier needs at least two");
    }

    /// <summary>
    /// <paramref name="labels"/> as an int64 tensor [N] after checking every label is in 0 … <paramref name="classes"/> − 1
    /// and that there is at least one row (<paramref name="split"/> names the split in the message).
    /// </summary>
    public static Tensor LabelTensor(long[] labels, int classes, string location, string split)
    {
        RequireRows(labels.Length, location, split);
        int bad = Array.FindIndex(labels, l => l < 0 || l >= classes);
        if (bad >= 0) throw new DataException(location, $"label {labels[bad]} at row {bad} is outside the classes 0 … {classes - 1}");
        return tensor(labels, [labels.LongLength]);
    }

    /// <summary>Throws when a split has no rows.</summary>
    public static void RequireRows(long rows, string location, string split)
    {
        if (rows == 0) throw new DataException(location, $"the {split} split is empty; it needs at least one row");
    }

    /// <summary>Throws unless the feature and label files agree on the number of rows.</summary>
    public static void RequireSameRows(long featureRows, long labelRows, string featuresPath, string labelsPath)
    {
        if (featureRows != labelRows)
            throw new DataException(labelsPath, $"has {labelRows} labels but {featuresPath} has {featureRows} rows");
    }

    /// <summary>Class names "0" … "C − 1" for datasets whose labels carry no names.</summary>
    public static IReadOnlyList<string> NumberedClasses(int classes) =>
        Enumerable.Range(0, classes).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
}
