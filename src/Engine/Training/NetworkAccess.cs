using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Training;

/// <summary>
/// <see cref="INetworkAccess"/> over a <see cref="MaskedNetwork"/> and the run's training and validation rows.
/// Gradients are taken at the weights the layers compute with: each selected layer is given a leaf Ŵ (a copy of
/// W ⊙ M, or the caller's replacement) for the duration of one forward pass, and <c>torch.autograd.grad</c> returns
/// ∂f/∂Ŵ without touching any parameter's <c>.grad</c>. The network (not owned) keeps its weights, masks and mode.
/// </summary>
public sealed class NetworkAccess(MaskedNetwork network, IReadOnlyList<IMaskableWeight> weights, DataRows training, DataRows validation) : INetworkAccess
{
    private readonly List<MaskedLayer> _layers = weights.Select(w => w as MaskedLayer
        ?? throw new ArgumentException($"{w.Name} is not a layer of this network", nameof(weights))).ToList();

    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> Network => network;

    /// <inheritdoc />
    public IReadOnlyList<IMaskableWeight> Weights => weights;

    /// <inheritdoc />
    public long[] InputShape => network.InputShape;

    /// <inheritdoc />
    public int Classes => network.Classes;

    /// <inheritdoc />
    public Device Device => _layers.Count > 0 ? _layers[0].weight.device : training.Device;

    /// <inheritdoc />
    public long TrainingRows => training.Count;

    /// <inheritdoc />
    public long ValidationRows => validation.Count;

    /// <inheritdoc />
    public LabeledBatch TrainingBatch(int size, Generator generator) => Batch(training, "training", size, generator);

    /// <inheritdoc />
    public LabeledBatch ValidationBatch(int size, Generator generator) => Batch(validation, "validation", size, generator);

    private LabeledBatch Batch(DataRows rows, string split, int size, Generator generator)
    {
        if (rows.Count == 0) throw new InvalidOperationException($"the {split} split has no rows");
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "a batch needs at least one row");
        using var order = randperm(rows.Count, generator: generator, device: CPU);
        using var chosen = order.narrow(0, 0, Math.Min(size, rows.Count));
        var inputs = OnDevice(rows.Read(chosen));
        using var deviceRows = chosen.to(rows.Labels.device);
        return new LabeledBatch(inputs, OnDevice(rows.Labels.index_select(0, deviceRows)));
    }

    /// <summary><paramref name="t"/> on <see cref="Device"/>: itself when it is there already, else a moved copy (the original disposed).</summary>
    private Tensor OnDevice(Tensor t)
    {
        var device = Device;
        if (t.device_type == device.type && t.device_index == device.index) return t;
        var moved = t.to(device);
        t.Dispose();
        return moved;
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, Tensor> Gradients(Func<nn.Module<Tensor, Tensor>, Tensor> objective,
        IReadOnlyDictionary<string, Tensor>? weightsInUse = null) =>
        WithProbes(weightsInUse, probes =>
        {
            using var value = Scalar(objective(network), "the objective");
            return autograd.grad([value], probes);
        });

    /// <inheritdoc />
    public IReadOnlyDictionary<string, Tensor> LossGradients(LabeledBatch batch) =>
        Gradients(n => nn.functional.cross_entropy(n.call(batch.Inputs), batch.Labels));

    /// <inheritdoc />
    public IReadOnlyDictionary<string, Tensor> HessianVectorProduct(LabeledBatch batch, IReadOnlyDictionary<string, Tensor> vectors) =>
        WithProbes(null, probes =>
        {
            using var loss = Scalar(nn.functional.cross_entropy(network.call(batch.Inputs), batch.Labels), "the loss");
            var first = autograd.grad([loss], probes, retain_graph: true, create_graph: true);
            var dot = zeros([], dtype: loss.dtype, device: loss.device);
            for (int i = 0; i < _layers.Count; i++)
                if (vectors.TryGetValue(_layers[i].Name, out var v)) dot = dot + (first[i] * v.to(first[i].dtype, first[i].device)).sum();
            return autograd.grad([dot], probes);
        });

    /// <summary>
    /// Runs <paramref name="differentiate"/> with a fresh leaf Ŵ in every selected layer (evaluation mode) and returns its
    /// gradients by weight name, detached, outside every dispose scope. A term 0 · ΣŴ joins the graph so that a layer
    /// the objective never reaches gets zeros instead of an autograd error.
    /// </summary>
    private Dictionary<string, Tensor> WithProbes(IReadOnlyDictionary<string, Tensor>? weightsInUse, Func<Parameter[], IList<Tensor>> differentiate)
    {
        bool wasTraining = network.training;
        var probes = new Parameter[_layers.Count];
        try
        {
            using (no_grad())
                for (int i = 0; i < _layers.Count; i++)
                {
                    var layer = _layers[i];
                    using var value = weightsInUse is not null && weightsInUse.TryGetValue(layer.Name, out var given)
                        ? CheckedShape(given, layer).to(layer.weight.dtype, layer.weight.device).clone()
                        : layer.weight * layer.Mask;
                    probes[i] = new Parameter(value.detach().clone(), requires_grad: true);
                    layer.Probe = probes[i];
                }
            network.eval();
            using var scope = NewDisposeScope();
            var gradients = differentiate(probes);
            var result = new Dictionary<string, Tensor>();
            for (int i = 0; i < _layers.Count; i++) result[_layers[i].Name] = gradients[i].detach().MoveToOuterDisposeScope();
            return result;
        }
        finally
        {
            foreach (var layer in _layers) layer.Probe = null;
            foreach (var p in probes) p?.Dispose();
            network.train(wasTraining);
        }
    }

    private Tensor Scalar(Tensor value, string what)
    {
        if (value.numel() != 1) throw new ArgumentException($"{what} must be a scalar, got shape [{string.Join(", ", value.shape)}]");
        // Every probe joins the graph (0 · ΣŴ), so unreached layers get zero gradients.
        var total = value.reshape([]);
        foreach (var layer in _layers) total = total + layer.Probe!.sum() * 0;
        return total;
    }

    private static Tensor CheckedShape(Tensor given, MaskedLayer layer) =>
        given.shape.SequenceEqual(layer.weight.shape) ? given
            : throw new ArgumentException($"the weight given for {layer.Name} has shape [{string.Join(", ", given.shape)}], " +
                $"the layer's is [{string.Join(", ", layer.weight.shape)}]");
}
