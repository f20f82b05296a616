using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Models.TorchVision.Internal;

/// <summary>
/// A torchvision network (3 input channels) for inputs with C ≠ 3 channels. For C = 1 the grey channel is repeated
/// three times (no parameters); otherwise a 1×1 convolution C → 3 without bias, registered as <c>input_adapter</c>
/// (a name torchvision does not use), maps the channels first. The network's own children are registered here under
/// their own names, so every state-dict key is torchvision's (conv1.weight, layer1.0.bn1.running_mean, fc.bias, …),
/// plus <c>input_adapter.weight</c> when there is an adapter. Input [N, C, H, W] → the network's logits [N, classes].
/// </summary>
internal sealed class ChannelAdapter : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> _network;
    private readonly nn.Module<Tensor, Tensor>? _adapter;

    /// <summary>
    /// Wraps <paramref name="network"/> for <paramref name="channels"/> input channels; the adapter's weight is drawn from
    /// <paramref name="generator"/> with PyTorch's default initialisation.
    /// </summary>
    public ChannelAdapter(nn.Module<Tensor, Tensor> network, long channels, Generator generator) : base(network.GetName())
    {
        _network = network;
        if (channels != 1)
        {
            var conv = nn.Conv2d(channels, 3, 1, bias: false);
            ParameterInit.PyTorchDefault(conv.weight!, null, generator);
            _adapter = conv;
            register_module("input_adapter", _adapter);
        }
        foreach (var (name, child) in network.named_children()) register_module(name, child);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var three = _adapter is null ? input.expand(-1, 3, -1, -1) : _adapter.call(input);
        return _network.call(three);
    }

    /// <summary>Keeps the wrapped network's own mode in step (some torchvision forwards read it), then sets the children's.</summary>
    public override void train(bool train = true)
    {
        _network.train(train);
        base.train(train);
    }
}
