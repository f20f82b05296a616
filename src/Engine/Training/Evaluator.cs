using SubnetworkEnsembles.Engine.Models;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Training;

/// <summary>Computes class probabilities of a model in evaluation mode (target masks, no stochastic draws).</summary>
public static class Evaluator
{
    /// <summary>softmax(model(x)) for every row of <paramref name="inputs"/>; float32 [N, C] on the CPU.</summary>
    public static Tensor Probabilities(MaskedNetwork model, Tensor inputs, int batchSize = 1024)
    {
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            long n = inputs.shape[0];
            var parts = new List<Tensor>();
            for (long start = 0; start < n; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var x = inputs.narrow(0, start, Math.Min(batchSize, n - start));
                parts.Add(nn.functional.softmax(model.call(x), 1).cpu().MoveToOuterDisposeScope());
            }
            var all = cat(parts, 0);
            foreach (var p in parts) p.Dispose();
            return all;
        }
        finally { model.train(wasTraining); }
    }
}
