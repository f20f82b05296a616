using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Datasets;

/// <summary>Options of <see cref="SpiralsDataset"/>.</summary>
public sealed class SpiralsDatasetOptions : IValidatableOptions
{
    /// <summary>Generated points for training + validation (the last data.validation of them validate).</summary>
    public int Points { get; set; } = 2500;

    /// <summary>Generated test points.</summary>
    public int TestPoints { get; set; } = 250;

    /// <summary>Standard deviation of the Gaussian noise added to each coordinate (before the 1/3π scaling).</summary>
    public double Noise { get; set; } = 1.0;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Points < 10) yield return $"points: must be ≥ 10, got {Points}";
        if (TestPoints < 2) yield return $"test_points: must be ≥ 2, got {TestPoints}";
        if (Noise < 0 || double.IsNaN(Noise)) yield return $"noise: must be ≥ 0, got {Noise}";
    }
}

/// <summary>
/// Two interleaved spirals (dissertation ch. 4), generated from the split seed: class c ∈ {0, 1} uniform, angle θ = 3π·√u with
/// u ~ U(0, 1), point ((−1)^c · θ (cos θ, sin θ) + 𝒩(0, noise²)) / 3π, about [−1, 1]². Points + test_points rows are drawn
/// in one go; rows [0, points − V) train, [points − V, points) validate (V = data.validation) and the rest test.
/// Features [2], not normalised.
/// </summary>
[Plugin("spirals", PluginKind.Dataset, OptionsType = typeof(SpiralsDatasetOptions),
    Description = "Two interleaved spirals, generated (2 features, 2 classes)")]
public sealed class SpiralsDataset(SpiralsDatasetOptions options) : IDatasetSource
{
    /// <inheritdoc />
    public DatasetSplits Load(DatasetContext context)
    {
        int points = options.Points, validation = context.ValidationRows;
        if (validation < 0 || validation >= points)
            throw new DataException("data.validation", $"must be in 0 … {points - 1} (smaller than spirals' points: {points}), got {validation}");
        using var g = new Generator((ulong)Seeds.Derive(context.SplitSeed, "spirals"));
        var (inputs, labels) = Generate(points + options.TestPoints, options.Noise, g);
        using (inputs)
        using (labels)
        {
            return new DatasetSplits
            {
                Train = Rows(inputs, labels, 0, points - validation),
                Validation = Rows(inputs, labels, points - validation, validation),
                Test = Rows(inputs, labels, points, options.TestPoints),
                InputShape = [2],
                ClassNames = ["0", "1"],
                Normalization = Normalization.Identity,
            };
        }
    }

    private static TensorSplit Rows(Tensor inputs, Tensor labels, long start, long count)
    {
        using var rows = arange(start, start + count);
        return new TensorSplit(inputs.index_select(0, rows), labels.index_select(0, rows));
    }

    /// <summary>The draws of the engine's original generator, in the same order: u, class, noise.</summary>
    private static (Tensor Inputs, Tensor Labels) Generate(int n, double noise, Generator g)
    {
        const double turns = 3 * Math.PI;
        using var u = rand([n], generator: g, dtype: ScalarType.Float64);
        using var cls = randint(0, 2, [n], generator: g);
        using var theta = u.sqrt().mul(turns);
        using var sign = cls.to_type(ScalarType.Float64).mul(-2).add(1);            // +1 for class 0, −1 for class 1
        using var x = theta.cos().mul(theta).mul(sign);
        using var y = theta.sin().mul(theta).mul(sign);
        using var eps = randn([n, 2], generator: g, dtype: ScalarType.Float64).mul(noise);
        using var points = stack([x, y], 1).add(eps).div(turns);
        return (points.to_type(ScalarType.Float32), cls.clone());
    }
}
