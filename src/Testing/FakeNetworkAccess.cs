using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Testing;

/// <summary>
/// <see cref="INetworkAccess"/> over a <see cref="MaskableModel"/> and seeded random data, as the host gives data-aware
/// samplers (<see cref="SamplingContext"/>) and perturbations (<see cref="PerturbationContext.Network"/>): batches of
/// <see cref="TrainingRows"/> training and <see cref="ValidationRows"/> validation rows drawn by the generator passed in,
/// gradients of any scalar objective at the weights the layers compute with (W ⊙ M, or replacements), and
/// Hessian-vector products of the mean cross-entropy. The model keeps its weights, masks and mode.
/// </summary>
public sealed class FakeNetworkAccess : INetworkAccess, IDisposable
{
    private readonly MaskableModel _model;
    private readonly LabelledBatch _training;
    private readonly LabelledBatch _validation;
    private readonly ModelModule _module;

    /// <summary>Access to <paramref name="model"/> (not owned) with <paramref name="trainingRows"/> / <paramref name="validationRows"/> random rows drawn from <paramref name="seed"/>.</summary>
    public FakeNetworkAccess(MaskableModel model, long trainingRows = 256, long validationRows = 32, long seed = 21)
    {
        _model = model;
        _training = TestBatches.Classification(model.InputShape, model.Classes, trainingRows, seed);
        _validation = TestBatches.Classification(model.InputShape, model.Classes, validationRows, seed + 1);
        _module = new ModelModule(model);
    }

    /// <inheritdoc />
    public nn.Module<Tensor, Tensor> Network => _module;

    /// <inheritdoc />
    public IReadOnlyList<IMaskableWeight> Weights => _model.MaskableWeights;

    /// <inheritdoc />
    public long[] InputShape => _model.InputShape;

    /// <inheritdoc />
    public int Classes => _model.Classes;

    /// <inheritdoc />
    public Device Device => CPU;

    /// <inheritdoc />
    public long TrainingRows => _training.Labels.shape[0];

    /// <inheritdoc />
    public long ValidationRows => _validation.Labels.shape[0];

    /// <inheritdoc />
    public LabeledBatch TrainingBatch(int size, Generator generator) => Batch(_training, size, generator);

    /// <inheritdoc />
    public LabeledBatch ValidationBatch(int size, Generator generator) => Batch(_validation, size, generator);

    private static LabeledBatch Batch(LabelledBatch rows, int size, Generator generator)
    {
        using var order = randperm(rows.Labels.shape[0], generator: generator);
        using var chosen = order.narrow(0, 0, Math.Min(size, rows.Labels.shape[0]));
        return new LabeledBatch(rows.Inputs.index_select(0, chosen), rows.Labels.index_select(0, chosen));
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, Tensor> Gradients(Func<nn.Module<Tensor, Tensor>, Tensor> objective, IReadOnlyDictionary<string, Tensor>? weightsInUse = null) =>
        WithProbes(weightsInUse, probes =>
        {
            using var value = objective(_module);
            return autograd.grad([Joined(value, probes)], probes);
        });

    /// <inheritdoc />
    public IReadOnlyDictionary<string, Tensor> LossGradients(LabeledBatch batch) =>
        Gradients(n => nn.functional.cross_entropy(n.call(batch.Inputs), batch.Labels));

    /// <inheritdoc />
    public IReadOnlyDictionary<string, Tensor> HessianVectorProduct(LabeledBatch batch, IReadOnlyDictionary<string, Tensor> vectors) =>
        WithProbes(null, probes =>
        {
            using var loss = nn.functional.cross_entropy(_module.call(batch.Inputs), batch.Labels);
            var first = autograd.grad([Joined(loss, probes)], probes, retain_graph: true, create_graph: true);
            var dot = zeros([]);
            for (int i = 0; i < probes.Length; i++)
                if (vectors.TryGetValue(_model.Weights[i].Name, out var v)) dot = dot + (first[i] * v).sum();
            return autograd.grad([Joined(dot, probes)], probes);
        });

    /// <summary>value + 0 · ΣŴ: every probe is in the graph, so a weight the objective does not reach gets zeros.</summary>
    private static Tensor Joined(Tensor value, Tensor[] probes)
    {
        if (value.numel() != 1) throw new ArgumentException($"the objective must be a scalar, got shape [{string.Join(", ", value.shape)}]");
        var total = value.reshape([]);
        foreach (var p in probes) total = total + p.sum() * 0;
        return total;
    }

    private Dictionary<string, Tensor> WithProbes(IReadOnlyDictionary<string, Tensor>? weightsInUse, Func<Tensor[], IList<Tensor>> differentiate)
    {
        bool wasTraining = _model.Training;
        var probes = new Tensor[_model.Weights.Count];
        try
        {
            for (int i = 0; i < probes.Length; i++)
            {
                var w = _model.Weights[i];
                using (no_grad())
                {
                    using var value = weightsInUse is not null && weightsInUse.TryGetValue(w.Name, out var given) ? given.clone() : w.Weight * w.Mask;
                    probes[i] = value.detach().clone().requires_grad_(true);
                }
                w.Probe = probes[i];
            }
            _model.Training = false;
            using var scope = NewDisposeScope();
            var gradients = differentiate(probes);
            return _model.Weights.Select((w, i) => (w.Name, Gradient: gradients[i].detach().MoveToOuterDisposeScope())).ToDictionary(p => p.Name, p => p.Gradient);
        }
        finally
        {
            foreach (var w in _model.Weights) w.Probe = null;
            foreach (var p in probes) p?.Dispose();
            _model.Training = wasTraining;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _training.Dispose();
        _validation.Dispose();
        _module.Dispose();
    }

    /// <summary>The model as a module: forward = <see cref="MaskableModel.Forward"/> in the model's mode.</summary>
    private sealed class ModelModule(MaskableModel model) : nn.Module<Tensor, Tensor>("MaskableModel")
    {
        public override Tensor forward(Tensor input) => model.Forward(input);
    }
}
