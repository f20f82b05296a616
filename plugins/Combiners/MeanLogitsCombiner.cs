using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Combiners;

/// <summary>
/// The other reading of the dissertation's Algorithms 1–3, softmax(mean(outputs)) with the outputs as logits:
/// p̄ = softmax((1/M) Σₘ zₘ). Members hand over probabilities pₘ = softmax(zₘ); since log pₘ = zₘ − logsumexp(zₘ) differs
/// from zₘ by one constant per row, softmax((1/M) Σₘ log pₘ) equals softmax((1/M) Σₘ zₘ) exactly — the normalised geometric
/// mean of the probabilities. Probabilities are clamped to ≥ 1e-30 before the log (a float32 softmax output of 0); computed
/// in float64, returned as float32 [N, C].
/// </summary>
[Plugin("mean-logits", PluginKind.Combiner, Description = "Softmax of the members' mean logit (normalised geometric mean of probabilities)")]
public sealed class MeanLogitsCombiner : IEnsembleCombiner
{
    /// <inheritdoc />
    public Tensor Combine(Tensor memberProbabilities)
    {
        using var scope = NewDisposeScope();
        var logits = memberProbabilities.to_type(ScalarType.Float64).clamp_min(1e-30).log().mean([0]);
        return logits.softmax(1).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }
}
