using SubnetworkEnsembles.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Models;

/// <summary>
/// A classifier whose every Linear/Conv2d weight is maskable: wraps any TorchSharp module (input [N, …InputShape], output
/// logits [N, C]) without changing it, attaching a <see cref="MaskedLayer"/> to each Linear and Conv2d. The wrapper is
/// invisible in names: its parameters, buffers and modules are the wrapped module's (state-dict keys such as
/// <c>layer1.0.conv1.weight</c>), plus one <c>{layer}.weight_mask</c> buffer per maskable weight after the module's own
/// buffers. Construction runs one sample through the network (evaluation mode, no gradients) to order the layers as the
/// forward pass reaches them, find the output layer (the last one reached), and check the output shape.
/// </summary>
public sealed class MaskedNetwork : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> _network;
    private readonly List<MaskedLayer> _layers;

    /// <summary>
    /// Wraps <paramref name="network"/> (owned from now on) for samples of <paramref name="inputShape"/> and
    /// <paramref name="classes"/> classes; <paramref name="generator"/> (owned; may be null) is the one its stochastic layers
    /// draw from. Throws <see cref="ModelContractException"/> when the network has no Linear/Conv2d reached through
    /// <c>call()</c>, a Linear/Conv2d it never reaches, a forward pass that fails on one sample, or an output that is not [N, classes].
    /// </summary>
    public MaskedNetwork(nn.Module<Tensor, Tensor> network, long[] inputShape, int classes, Generator? generator, string description = "the model")
        : base("MaskedNetwork")
    {
        _network = network;
        InputShape = inputShape;
        Classes = classes;
        Generator = generator;
        var candidates = network.named_modules()
            .Where(m => m.module is Linear or Conv2d)
            .Select(m => new MaskedLayer((nn.Module<Tensor, Tensor>)m.module, m.name + ".weight"))
            .ToList();
        if (candidates.Count == 0)
            throw new ModelContractException($"{description} has no nn.Linear or nn.Conv2d weight to mask: a subnetwork ensemble needs at least one");
        _layers = OrderByForwardPass(candidates, description);
        _layers[^1].IsOutputLayer = true;
    }

    /// <summary>The wrapped module.</summary>
    public nn.Module<Tensor, Tensor> Network => _network;

    /// <summary>
    /// The generator the network's stochastic layers (<see cref="GeneratorDropout"/>) draw from in training; owned by the
    /// network (disposed with it). Null when it was built without one.
    /// </summary>
    public Generator? Generator { get; }

    /// <summary>Number of classes C.</summary>
    public int Classes { get; }

    /// <summary>Shape of one input sample, e.g. [1, 28, 28] or [2].</summary>
    public long[] InputShape { get; }

    /// <summary>Every masked layer in forward order, named by its weight's state-dict key.</summary>
    public IReadOnlyList<MaskedLayer> MaskedLayers => _layers;

    /// <summary>The masked layers as the contracts see them.</summary>
    public IReadOnlyList<IMaskableWeight> MaskableWeights => _layers;

    /// <summary>True when the network has dropout layers (<see cref="GeneratorDropout"/> or <c>nn.Dropout</c>).</summary>
    public bool HasDropout => _network.modules().Any(m => m is GeneratorDropout or Dropout or Dropout2d);

    /// <summary>True when the network has BatchNorm layers (their running statistics follow the weights only when re-estimated).</summary>
    public bool HasBatchNorm => _network.modules().Any(m => m is BatchNorm1d or BatchNorm2d);

    /// <summary>Zeroes masked-out weights of every frozen layer (called after each optimiser step).</summary>
    public void EnforceFrozenMasks() { foreach (var l in _layers) l.EnforceFrozenMask(); }

    /// <summary>
    /// Zeroes the masked-out weights of every frozen layer and, until disposed, lets those layers compute with W itself
    /// (it equals W ⊙ M) instead of forming W ⊙ M every forward pass; the caller must call <see cref="EnforceFrozenMasks"/>
    /// after every change of the weights (the trainer does, after each optimiser step). See <see cref="MaskedLayer.FrozenWeightIsMasked"/>.
    /// </summary>
    public IDisposable FrozenMasksInPlace()
    {
        EnforceFrozenMasks();
        foreach (var l in _layers) l.FrozenWeightIsMasked = true;
        return new Restore(_layers);
    }

    private sealed class Restore(List<MaskedLayer> layers) : IDisposable
    {
        public void Dispose() { foreach (var l in layers) l.FrozenWeightIsMasked = false; }
    }

    /// <summary>Total number of parameters (weights and biases).</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>Parameters that are not masked out: all parameters minus Σ over layers of the zeros of M.</summary>
    public long NonZeroParameterCount => ParameterCount - _layers.Sum(l => l.weight.numel() - (long)l.Mask.sum().ToDouble());

    /// <summary>Fraction of masked-out entries over all masked weights.</summary>
    public double Sparsity
    {
        get
        {
            long total = _layers.Sum(l => l.weight.numel());
            double kept = _layers.Sum(l => l.Mask.sum().ToDouble());
            return total == 0 ? 0 : 1 - kept / total;
        }
    }

    /// <summary>Loads weights, buffers and masks saved by <c>save(path)</c>, then refreshes mask state.</summary>
    public void LoadCheckpoint(string path)
    {
        load(path);
        foreach (var l in _layers) l.RefreshMaskState();
    }

    /// <summary>Copies weights, buffers and masks from <paramref name="source"/> (same architecture).</summary>
    public void CopyFrom(MaskedNetwork source)
    {
        using var _ = no_grad();
        var mine = state_dict();
        foreach (var (name, tensor) in source.state_dict()) mine[name].copy_(tensor);
        foreach (var l in _layers) l.RefreshMaskState();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => _network.call(input);

    /// <inheritdoc />
    public override IEnumerable<(string name, Parameter parameter)> named_parameters(bool recurse = true) => _network.named_parameters(recurse);

    /// <inheritdoc />
    public override IEnumerable<(string name, Tensor buffer)> named_buffers(bool recurse = true, bool include_nonpersistent = true)
    {
        foreach (var b in _network.named_buffers(recurse, include_nonpersistent)) yield return b;
        foreach (var l in _layers) yield return (l.Name + "_mask", l.Mask);
    }

    /// <inheritdoc />
    public override IEnumerable<(string name, nn.Module module)> named_children() => _network.named_children();

    /// <inheritdoc />
    public override IEnumerable<(string name, nn.Module module)> named_modules() => _network.named_modules();

    /// <inheritdoc />
    public override void train(bool train = true)
    {
        base.train(train);
        _network.train(train);
    }

    /// <inheritdoc />
    public override void zero_grad(bool set_to_none = true) => _network.zero_grad(set_to_none);

    /// <inheritdoc />
    protected override nn.Module _to(Device device, ScalarType dtype, bool non_blocking)
    {
        _network.to(device, dtype, non_blocking);
        return Moved(device.type, device.index);
    }

    /// <inheritdoc />
    protected override nn.Module _to(DeviceType deviceType, int deviceIndex, bool non_blocking)
    {
        _network.to(deviceType, deviceIndex, non_blocking);
        return Moved(deviceType, deviceIndex);
    }

    /// <inheritdoc />
    protected override nn.Module _to(ScalarType dtype, bool non_blocking)
    {
        _network.to(dtype, non_blocking);
        foreach (var l in _layers) l.FollowWeight();
        return this;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _network.Dispose();
            foreach (var l in _layers) l.Dispose();
            Generator?.Dispose();
        }
        base.Dispose(disposing);
    }

    private MaskedNetwork Moved(DeviceType type, int index)
    {
        foreach (var l in _layers) l.FollowWeight();
        _deviceType = type;
        _deviceIndex = type == DeviceType.CUDA ? index : -1;
        return this;
    }

    /// <summary>
    /// The network's output for the probe sample <paramref name="x"/>; an exception in the plugin's forward pass (e.g. a
    /// layer that does not fit the input shape) becomes a <see cref="ModelContractException"/> with its first line.
    /// </summary>
    private Tensor Probe(Tensor x, string description)
    {
        try
        {
            return _network.call(x);
        }
        catch (Exception e) when (e is not ModelContractException and not OperationCanceledException)
        {
            string reason = e.Message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? e.GetType().Name;
            throw new ModelContractException($"{description} failed on one sample of shape [{string.Join(", ", InputShape)}]: {reason} " +
                "(a model plugin should throw ArgumentException in Build for a shape it cannot take)", e);
        }
    }

    /// <summary>Runs one zero sample and returns the layers in the order they were first reached; checks the output shape.</summary>
    private List<MaskedLayer> OrderByForwardPass(List<MaskedLayer> layers, string description)
    {
        var order = new List<MaskedLayer>();
        var hooks = layers.Select(l => l.Module.register_forward_hook((m, input, output) =>
        {
            if (!order.Contains(l)) order.Add(l);
            return output;
        })).ToList();
        bool training = _network.training;
        try
        {
            using var _ = no_grad();
            _network.eval();
            using var x = zeros([1, .. InputShape]);
            using var output = Probe(x, description);
            if (output.dim() != 2 || output.shape[0] != 1 || output.shape[1] != Classes)
                throw new ModelContractException($"{description} outputs [{string.Join(", ", output.shape)}] for one sample of shape " +
                    $"[{string.Join(", ", InputShape)}]; expected logits [1, {Classes}] ({Classes} classes in the data)");
        }
        finally
        {
            foreach (var h in hooks) h.remove();
            _network.train(training);
        }
        var missed = layers.Where(l => !order.Contains(l)).Select(l => l.Name).ToList();
        if (missed.Count > 0)
            throw new ModelContractException($"{description}: {string.Join(", ", missed)} never ran through call() in a forward pass; " +
                "invoke submodules with module.call(x), not forward(x), so their weights can be masked (or remove unused layers)");
        return order;
    }
}

/// <summary>
/// A model plugin's network breaks the model contract (no maskable weight, wrong output shape, layers bypassing call(), a
/// forward pass that fails on a sample of the data's shape): exit code 3; <c>inner</c> is the plugin's own exception, if any.
/// </summary>
public sealed class ModelContractException(string message, Exception? inner = null) : SneException(message, ExitCodes.RuntimeFailure, inner);
