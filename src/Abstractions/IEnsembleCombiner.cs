using static TorchSharp.torch;

namespace SubnetworkEnsembles.Abstractions;

/// <summary>
/// Prediction (dissertation §3.2.5): combines the members' class probabilities into the ensemble's.
/// </summary>
public interface IEnsembleCombiner
{
    /// <summary>
    /// Combines <paramref name="memberProbabilities"/> (softmax outputs, float32 [M, N, C]) into probabilities
    /// [N, C] whose rows sum to 1. The result is owned by the caller.
    /// </summary>
    Tensor Combine(Tensor memberProbabilities);
}
