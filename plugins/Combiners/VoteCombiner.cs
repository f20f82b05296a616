using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Combiners;

/// <summary>
/// Majority vote (dissertation §3.2): each member votes for its argmax class; the combined "probability" of a class is its share
/// of the votes, so the argmax is the majority class (ties go to the lower class index). NLL of vote shares is
/// infinite wherever the label got no vote (clamped by the nll metric); use accuracy with this combiner.
/// </summary>
[Plugin("vote", PluginKind.Combiner, Description = "Majority vote of the members' predicted classes (vote shares)")]
public sealed class VoteCombiner : IEnsembleCombiner
{
    /// <inheritdoc />
    public Tensor Combine(Tensor memberProbabilities)
    {
        using var scope = NewDisposeScope();
        var votes = memberProbabilities.argmax(2);                                                 // [M, N]
        var onehot = nn.functional.one_hot(votes, memberProbabilities.shape[2]).to_type(ScalarType.Float32);
        return onehot.mean([0]).MoveToOuterDisposeScope();
    }
}
