// An out-of-tree dataset plugin: Gaussian blobs generated from the split seed, so every run of one experiment sees the
// same rows. Build against the host's contracts (see README, "Write your own model or dataset plugin").
using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace BlobsPlugin;

/// <summary>Options of <see cref="BlobsDataset"/> (YAML: <c>data: { dataset: blobs, points: 1200, classes: 3, … }</c>).</summary>
public sealed class BlobsOptions : IValidatableOptions
{
    /// <summary>Rows generated in all (train + validation + test).</summary>
    public int Points { get; set; } = 1200;

    /// <summary>Number of classes C (one blob each).</summary>
    public int Classes { get; set; } = 3;

    /// <summary>Number of features F.</summary>
    public int Dimensions { get; set; } = 2;

    /// <summary>Standard deviation of each blob around its centre (centres are drawn from 𝒩(0, 1) per feature).</summary>
    public double Spread { get; set; } = 0.5;

    /// <summary>Fraction of the rows held out for testing.</summary>
    public double TestFraction { get; set; } = 0.2;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Classes < 2) yield return $"classes: must be ≥ 2, got {Classes}";
        if (Dimensions < 1) yield return $"dimensions: must be ≥ 1, got {Dimensions}";
        if (Points < 2 * Classes) yield return $"points: must be ≥ 2 × classes = {2 * Classes}, got {Points}";
        if (!(Spread > 0)) yield return $"spread: must be > 0, got {Spread}";
        if (TestFraction is <= 0 or >= 1 || double.IsNaN(TestFraction)) yield return $"test_fraction: must be in (0, 1), got {TestFraction}";
    }
}

/// <summary>
/// C Gaussian blobs in F dimensions: centre μ_c ~ 𝒩(0, I), row i has class y_i = i mod C and features μ_{y_i} + spread·𝒩(0, I),
/// all drawn from one generator seeded with the split seed. Rows are shuffled; the last round(test_fraction·points) test,
/// the last data.validation of the others validate, the rest train. Features [F], normalised by the host.
/// </summary>
[Plugin("blobs", PluginKind.Dataset, OptionsType = typeof(BlobsOptions), Description = "Gaussian blobs, generated from the split seed")]
public sealed class BlobsDataset(BlobsOptions options) : IDatasetSource
{
    /// <inheritdoc />
    public DatasetSplits Load(DatasetContext context)
    {
        int n = options.Points, test = (int)Math.Round(options.TestFraction * n), validation = context.ValidationRows;
        int train = n - test - validation;
        if (test < 1 || train < options.Classes)
            throw new DataException("data.validation", $"{validation} validation rows leave {train} of {n} blob points to train and {test} to test");

        using var scope = NewDisposeScope();
        using var g = new Generator((ulong)context.SplitSeed);
        var centres = randn([options.Classes, options.Dimensions], generator: g);
        var labels = arange(n, dtype: ScalarType.Int64).remainder(options.Classes);
        var inputs = centres.index_select(0, labels) + randn([n, options.Dimensions], generator: g) * options.Spread;
        var order = randperm(n, generator: g);
        (inputs, labels) = (inputs.index_select(0, order), labels.index_select(0, order));

        TensorSplit Rows(long start, long count) =>
            new(inputs.narrow(0, start, count).clone().MoveToOuterDisposeScope(), labels.narrow(0, start, count).clone().MoveToOuterDisposeScope());
        return new DatasetSplits
        {
            Train = Rows(0, train),
            Validation = Rows(train, validation),
            Test = Rows(train + validation, test),
            InputShape = [options.Dimensions],
            ClassNames = Enumerable.Range(0, options.Classes).Select(c => $"blob{c}").ToList(),
        };
    }
}
