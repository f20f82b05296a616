using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Models;

/// <summary>
/// Re-estimates the running statistics of a network's BatchNorm layers from data, e.g. for a child whose weights were
/// changed without tuning (masking, noise): the statistics the parent accumulated no longer describe its activations.
/// </summary>
public static class BatchNormStatistics
{
    /// <summary>
    /// Resets the running mean (0), variance (1) and batch count of every BatchNorm1d/BatchNorm2d of <paramref name="model"/>,
    /// then runs <paramref name="batches"/> (inputs [N, …], on the model's device) through it under no_grad with only the
    /// BatchNorm layers in training mode (dropout and every other module in evaluation mode), as a cumulative average —
    /// PyTorch's <c>momentum=None</c>: after batch k, running = (1 − 1/k)·running + (1/k)·batch statistic, so the running
    /// mean is the average of the k batch means and the running variance the average of the k unbiased batch variances.
    /// Afterwards every module's training mode and every BatchNorm's momentum are as before. Returns the number of batches
    /// used; with no BatchNorm layer the model is left untouched and 0 is returned without running any batch.
    /// </summary>
    public static int Reestimate(nn.Module model, IEnumerable<Tensor> batches)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batches);
        var layers = model.modules().OfType<BatchNorm>().ToList();
        if (layers.Count == 0) return 0;
        if (model is not nn.Module<Tensor, Tensor> network)
            throw new ArgumentException($"{model.GetName()} is not a Tensor → Tensor module, so batches cannot be run through it", nameof(model));
        // Pre-order (the model, then its descendants parent before child), so restoring in this order leaves each module's own mode.
        var modes = model.modules().Prepend(model).Select(m => (Module: m, m.training)).ToList();
        var momenta = layers.Select(l => l.momentum).ToList();
        int count = 0;
        try
        {
            using var _ = no_grad();
            model.eval();
            foreach (var layer in layers)
            {
                layer.reset_running_stats();
                layer.train();
            }
            foreach (var batch in batches)
            {
                count++;
                foreach (var layer in layers) layer.momentum = 1.0 / count;
                using var output = network.call(batch);
            }
        }
        finally
        {
            for (int i = 0; i < layers.Count; i++) layers[i].momentum = momenta[i];
            foreach (var (module, training) in modes) module.train(training);
        }
        return count;
    }
}
