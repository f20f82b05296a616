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
            return Batched(inputs, batchSize, x => nn.functional.softmax(model.call(x), 1));
        }
        finally { model.train(wasTraining); }
    }

    /// <summary>softmax(model(x)) for every row of <paramref name="data"/>, read in order in batches; float32 [N, C] on the CPU.</summary>
    public static Tensor Probabilities(MaskedNetwork model, Data.DataRows data, int batchSize = 1024)
    {
        if (data is Data.InMemoryDataset memory) return Probabilities(model, memory.Inputs, batchSize);
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            var parts = new List<Tensor>();
            for (long start = 0; start < data.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var x = data.ReadRange(start, Math.Min(batchSize, data.Count - start));
                parts.Add(nn.functional.softmax(model.call(x), 1).cpu().MoveToOuterDisposeScope());
            }
            var all = cat(parts, 0);
            foreach (var p in parts) p.Dispose();
            return all;
        }
        finally { model.train(wasTraining); }
    }

    /// <summary>Applies <paramref name="probabilities"/> to batches of <paramref name="inputs"/> without gradients; concatenated on the CPU.</summary>
    private static Tensor Batched(Tensor inputs, int batchSize, Func<Tensor, Tensor> probabilities)
    {
        using var _ = no_grad();
        long n = inputs.shape[0];
        var parts = new List<Tensor>();
        for (long start = 0; start < n; start += batchSize)
        {
            using var scope = NewDisposeScope();
            parts.Add(probabilities(inputs.narrow(0, start, Math.Min(batchSize, n - start))).cpu().MoveToOuterDisposeScope());
        }
        var all = cat(parts, 0);
        foreach (var p in parts) p.Dispose();
        return all;
    }

    /// <summary>
    /// Monte-Carlo dropout: the mean of <paramref name="samples"/> softmax outputs [N, C] with dropout active (the
    /// masks stay their targets). Dropout draws from the network's own <see cref="MaskedNetwork.Generator"/>, reseeded here
    /// with <paramref name="seed"/> and restored to its state afterwards, so the result is reproducible and changes nothing.
    /// </summary>
    public static Tensor McDropoutProbabilities(MaskedNetwork model, Tensor inputs, int samples, long seed, int batchSize = 1024)
    {
        var generator = model.Generator ?? throw new InvalidOperationException("Monte-Carlo dropout needs the network's generator");
        bool wasTraining = model.training;
        var stochastic = model.MaskedLayers.Select(l => l.StochasticMask).ToList();
        foreach (var l in model.MaskedLayers) l.StochasticMask = null;
        using var state = generator.get_state();
        generator.manual_seed(seed);
        model.train();
        try
        {
            return Batched(inputs, batchSize, x =>
            {
                var sum = zeros(x.shape[0], model.Classes, device: x.device);
                for (int t = 0; t < samples; t++) sum.add_(nn.functional.softmax(model.call(x), 1));
                return sum.div_(samples);
            });
        }
        finally
        {
            generator.set_state(state);
            if (!wasTraining) model.eval();
            foreach (var (l, m) in model.MaskedLayers.Zip(stochastic)) l.StochasticMask = m;
        }
    }
}
