using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Testing;

/// <summary>A seeded classification batch: inputs float32 [N, …shape] ~ 𝒩(0, 1) and labels int64 [N] in 0 … C − 1.</summary>
public sealed class LabelledBatch(Tensor inputs, Tensor labels) : IDisposable
{
    /// <summary>Inputs, float32 [N, …shape].</summary>
    public Tensor Inputs { get; } = inputs;

    /// <summary>Labels, int64 [N].</summary>
    public Tensor Labels { get; } = labels;

    /// <inheritdoc />
    public void Dispose() { Inputs.Dispose(); Labels.Dispose(); }
}

/// <summary>
/// Seeded ensemble predictions, what a metric or combiner sees: member probabilities [M, N, C] (softmax of 𝒩(0, 2²)
/// logits), their mean [N, C] and labels int64 [N].
/// </summary>
public sealed class PredictionBatch(Tensor memberProbabilities, Tensor ensembleProbabilities, Tensor labels) : IDisposable
{
    /// <summary>Softmax outputs of every member, float32 [M, N, C].</summary>
    public Tensor MemberProbabilities { get; } = memberProbabilities;

    /// <summary>The members' mean, float32 [N, C].</summary>
    public Tensor EnsembleProbabilities { get; } = ensembleProbabilities;

    /// <summary>True classes, int64 [N].</summary>
    public Tensor Labels { get; } = labels;

    /// <summary>The batch as a metric's input.</summary>
    public MetricInput Input => new(MemberProbabilities, EnsembleProbabilities, Labels);

    /// <inheritdoc />
    public void Dispose() { MemberProbabilities.Dispose(); EnsembleProbabilities.Dispose(); Labels.Dispose(); }
}

/// <summary>Seeded data for plugin tests: the same seed gives the same tensors on every machine (CPU generator).</summary>
public static class TestBatches
{
    /// <summary><paramref name="rows"/> samples of <paramref name="inputShape"/> with labels in 0 … <paramref name="classes"/> − 1.</summary>
    public static LabelledBatch Classification(long[] inputShape, int classes, long rows = 32, long seed = 1)
    {
        using var g = new Generator((ulong)seed);
        var inputs = randn([rows, .. inputShape], generator: g);
        var labels = randint(0, classes, [rows], generator: g);
        return new LabelledBatch(inputs, labels);
    }

    /// <summary><paramref name="members"/> members' predictions of <paramref name="rows"/> rows over <paramref name="classes"/> classes.</summary>
    public static PredictionBatch Predictions(int members = 3, long rows = 50, int classes = 4, long seed = 1)
    {
        using var g = new Generator((ulong)seed);
        using var logits = randn([members, rows, classes], generator: g).mul_(2);
        var probabilities = logits.softmax(2);
        var labels = randint(0, classes, [rows], generator: g);
        return new PredictionBatch(probabilities, probabilities.mean([0]), labels);
    }
}
