using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Datasets.Internal;

/// <summary>
/// Splits N rows of one file into train / validation / test by fractions [f_train, f_val, f_test] (summing to 1):
/// a permutation of 0 … N − 1 seeded by (split seed, "dataset-fractions"); its first round(f_val·N) rows validate, the next
/// round(f_test·N) test and the rest train. Each part keeps file order (its indices sorted).
/// </summary>
public static class FractionSplit
{
    /// <summary>Problems with a <c>fractions</c> option (YAML key <paramref name="key"/>); empty when valid.</summary>
    public static IEnumerable<string> Validate(IReadOnlyList<double>? fractions, string key = "fractions")
    {
        if (fractions is null) yield break;
        if (fractions.Count != 3) { yield return $"{key}: must be three numbers [train, validation, test], got {fractions.Count}"; yield break; }
        if (fractions.Any(f => f is < 0 or > 1 || double.IsNaN(f))) yield return $"{key}: each must be in [0, 1], got [{string.Join(", ", fractions)}]";
        else if (Math.Abs(fractions.Sum() - 1) > 1e-6) yield return $"{key}: must sum to 1, got {fractions.Sum()}";
        if (fractions[0] <= 0 || fractions[2] <= 0) yield return $"{key}: the train and test fractions must be positive, got [{string.Join(", ", fractions)}]";
    }

    /// <summary>
    /// Row indices (int64, sorted) of each part for <paramref name="rows"/> rows; Validation is null when f_val is 0 (the
    /// host then carves data.validation rows from train). Throws <see cref="DataException"/> at <paramref name="location"/>
    /// when a part would be empty.
    /// </summary>
    public static (Tensor Train, Tensor? Validation, Tensor Test) Indices(long rows, IReadOnlyList<double> fractions, long splitSeed, string location)
    {
        long validation = (long)Math.Round(fractions[1] * rows);
        long test = (long)Math.Round(fractions[2] * rows);
        long train = rows - validation - test;
        if (train <= 0 || test <= 0 || (fractions[1] > 0 && validation <= 0))
            throw new DataException(location, $"{rows} rows split by fractions [{string.Join(", ", fractions)}] leave an empty split ({train} train, {validation} validation, {test} test)");
        using var g = new Generator((ulong)Seeds.Derive(splitSeed, "dataset-fractions"));
        using var perm = randperm(rows, generator: g);
        using var v = perm.narrow(0, 0, validation);
        using var t = perm.narrow(0, validation, test);
        using var r = perm.narrow(0, validation + test, train);
        return (r.sort().Values, fractions[1] > 0 ? v.sort().Values : null, t.sort().Values);
    }

    /// <summary>
    /// The <see cref="DatasetSplits"/> parts of in-memory inputs [N, …] and labels [N] split by <paramref name="fractions"/>
    /// (the given tensors are left to the caller).
    /// </summary>
    public static (TensorSplit Train, TensorSplit? Validation, TensorSplit Test) Split(Tensor inputs, Tensor labels, IReadOnlyList<double> fractions, long splitSeed, string location)
    {
        var (train, validation, test) = Indices(labels.shape[0], fractions, splitSeed, location);
        using (train) using (test) using (validation)
        {
            return (Take(inputs, labels, train), validation is null ? null : Take(inputs, labels, validation), Take(inputs, labels, test));
        }
    }

    private static TensorSplit Take(Tensor inputs, Tensor labels, Tensor rows) => new(inputs.index_select(0, rows), labels.index_select(0, rows));
}
