using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SnePlugin;

/// <summary>Options of <see cref="SnePlugin"/>: the keys beside <c>dataset: sne-plugin-name</c> (snake_case).</summary>
public sealed class SnePluginOptions : IValidatableOptions
{
    /// <summary>Training points (the host carves data.validation of them), ≥ 10.</summary>
    public int Points { get; init; } = 600;

    /// <summary>Test points, ≥ 1.</summary>
    public int TestPoints { get; init; } = 200;

    /// <summary>Number of blobs (classes), ≥ 2.</summary>
    public int Classes { get; init; } = 3;

    /// <summary>Standard deviation of each blob around its centre, &gt; 0.</summary>
    public double Spread { get; init; } = 0.5;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Points < 10) yield return $"points: must be ≥ 10, got {Points}";
        if (TestPoints < 1) yield return $"test_points: must be ≥ 1, got {TestPoints}";
        if (Classes < 2) yield return $"classes: must be ≥ 2, got {Classes}";
        if (!(Spread > 0) || !double.IsFinite(Spread)) yield return $"spread: must be a finite value > 0, got {Spread}";
    }
}

/// <summary>
/// A dataset: 2-D Gaussian blobs, class c centred at (cos 2πc/C, sin 2πc/C)·2 with standard deviation <c>spread</c>,
/// drawn from the split seed; train and test splits held in memory (float32 [N, 2], labels int64 [N]). The host carves
/// the validation rows and normalises. Select it with <c>data: { dataset: sne-plugin-name, points: 600 }</c>.
/// </summary>
[Plugin("sne-plugin-name", PluginKind.Dataset, OptionsType = typeof(SnePluginOptions), Description = "2-D Gaussian blobs drawn from the split seed")]
public sealed class SnePlugin(SnePluginOptions options) : IDatasetSource
{
    /// <inheritdoc />
    public DatasetSplits Load(DatasetContext context)
    {
        using var generator = new Generator((ulong)context.SplitSeed);
        return new DatasetSplits
        {
            Train = Blobs(options.Points, generator),
            Test = Blobs(options.TestPoints, generator),
            InputShape = [2],
            ClassNames = [.. Enumerable.Range(0, options.Classes).Select(c => $"blob{c}")],
        };
    }

    private TensorSplit Blobs(int count, Generator generator)
    {
        using var scope = NewDisposeScope();
        var labels = randint(0, options.Classes, [count], generator: generator);
        var angle = labels.to_type(ScalarType.Float32).mul(2 * Math.PI / options.Classes);
        var centres = stack([angle.cos(), angle.sin()], 1).mul(2);
        var inputs = centres.add(randn([count, 2], generator: generator).mul(options.Spread));
        return new TensorSplit(inputs.MoveToOuterDisposeScope(), labels.MoveToOuterDisposeScope());
    }
}
