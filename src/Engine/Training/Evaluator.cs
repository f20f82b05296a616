using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Engine.Native;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Training;

/// <summary>Computes class probabilities of a model in evaluation mode (target masks, no stochastic draws).</summary>
public static class Evaluator
{
    /// <summary>Rows per evaluation batch: <see cref="Abstractions.EvaluationBatches.RowsFor(bool, long[])"/> (the rule the analysis plugins use too).</summary>
    public static int BatchSizeFor(bool convolutional, long[] sampleShape) => Abstractions.EvaluationBatches.RowsFor(convolutional, sampleShape);

    /// <summary><see cref="BatchSizeFor(bool, long[])"/> for <paramref name="model"/> (convolutional when it has a Conv2d).</summary>
    public static int BatchSizeFor(MaskedNetwork model, long[] sampleShape) =>
        BatchSizeFor(model.MaskedLayers.Any(l => l.Module is TorchSharp.Modules.Conv2d), sampleShape);

    /// <summary>softmax(model(x)) for every row of <paramref name="inputs"/>, <paramref name="batchSize"/> rows at a time (0: <see cref="BatchSizeFor(MaskedNetwork, long[])"/>); float32 [N, C] on the CPU.</summary>
    public static Tensor Probabilities(MaskedNetwork model, Tensor inputs, int batchSize = 0)
    {
        if (batchSize <= 0) batchSize = BatchSizeFor(model, inputs.shape[1..]);
        bool wasTraining = model.training;
        model.eval();
        try
        {
            return Batched(inputs, batchSize, x => nn.functional.softmax(model.call(x), 1));
        }
        finally { model.train(wasTraining); }
    }

    /// <summary>softmax(model(x)) for every row of <paramref name="data"/>, read in order in batches; float32 [N, C] on the CPU.</summary>
    public static Tensor Probabilities(MaskedNetwork model, Data.DataRows data, int batchSize = 0)
    {
        if (batchSize <= 0) batchSize = BatchSizeFor(model, data.SampleShape);
        bool wasTraining = model.training;
        model.eval();
        try
        {
            return Batched(data.Count, data.ReadRange, batchSize, x => nn.functional.softmax(model.call(x), 1));
        }
        finally { model.train(wasTraining); }
    }

    /// <summary>Applies <paramref name="probabilities"/> to batches of <paramref name="inputs"/> without gradients; concatenated on the CPU.</summary>
    private static Tensor Batched(Tensor inputs, int batchSize, Func<Tensor, Tensor> probabilities) =>
        Batched(inputs.shape[0], (start, count) => inputs.narrow(0, start, count), batchSize, probabilities);

    /// <summary>
    /// Applies <paramref name="probabilities"/> without gradients to rows start … start + count − 1 of <paramref name="rows"/>
    /// rows, <paramref name="batchSize"/> at a time as <paramref name="read"/> returns them; concatenated on the CPU.
    /// </summary>
    private static Tensor Batched(long rows, Func<long, long, Tensor> read, int batchSize, Func<Tensor, Tensor> probabilities)
    {
        using var _ = no_grad();
        var parts = new List<Tensor>();
        for (long start = 0; start < rows; start += batchSize)
        {
            using var scope = NewDisposeScope();
            parts.Add(probabilities(read(start, Math.Min(batchSize, rows - start))).cpu().MoveToOuterDisposeScope());
            NativeHeap.TrimIfGrown();   // glibc keeps freed activation pages resident (see NativeHeap)
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
    public static Tensor McDropoutProbabilities(MaskedNetwork model, Tensor inputs, int samples, long seed, int batchSize = 0)
    {
        if (batchSize <= 0) batchSize = BatchSizeFor(model, inputs.shape[1..]);
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
