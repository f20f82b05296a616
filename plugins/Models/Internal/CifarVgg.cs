using static TorchSharp.torch;

namespace SubnetworkEnsembles.Models.Internal;

/// <summary>
/// VGG with BatchNorm for small images: <c>features</c> = torchvision's vgg*_bn layers (conv3×3 with bias → BN → ReLU,
/// max-pool 2×2 after each block), then global average pooling to 1×1 and <c>classifier</c> = Linear(512 → classes).
/// A max-pool that would shrink a side below 1 is an identity instead (so 28×28 runs 28→14→7→3→1→1), keeping the
/// torchvision indices of every layer (features.0 conv, features.1 BN, …). Input [N, C, H, W] → logits [N, classes].
/// </summary>
internal sealed class CifarVgg : nn.Module<Tensor, Tensor>
{
    /// <summary>Convolution widths per block, 'M' marking a 2×2 max-pool (0 here): VGG 11/13/16/19 (configurations A, B, D, E).</summary>
    public static readonly IReadOnlyDictionary<int, int[]> Configurations = new Dictionary<int, int[]>
    {
        [11] = [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
        [13] = [64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
        [16] = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0],
        [19] = [64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0],
    };

#pragma warning disable IDE1006 // TorchSharp names submodules after their fields: they are the state-dict keys
    private readonly nn.Module<Tensor, Tensor> features;
    private readonly nn.Module<Tensor, Tensor> avgpool;
    private readonly nn.Module<Tensor, Tensor> classifier;
#pragma warning restore IDE1006

    /// <summary>A VGG-<paramref name="depth"/> with BatchNorm for input [channels, height, width].</summary>
    public CifarVgg(int depth, long channels, long height, long width, int classes) : base("VGG")
    {
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        long inChannels = channels;
        foreach (int c in Configurations[depth])
        {
            string index = layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (c == 0)
            {
                bool canPool = height >= 2 && width >= 2;
                layers.Add((index, canPool ? nn.MaxPool2d(2, 2) : nn.Identity()));
                if (canPool) (height, width) = (height / 2, width / 2);
                continue;
            }
            layers.Add((index, nn.Conv2d(inChannels, c, 3, padding: 1)));
            layers.Add(((layers.Count).ToString(System.Globalization.CultureInfo.InvariantCulture), nn.BatchNorm2d(c)));
            layers.Add(((layers.Count).ToString(System.Globalization.CultureInfo.InvariantCulture), nn.ReLU()));
            inChannels = c;
        }
        features = nn.Sequential(layers);
        avgpool = nn.AdaptiveAvgPool2d(1);
        classifier = nn.Linear(512, classes);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var a = features.call(input);
        using var b = avgpool.call(a);
        using var c = b.flatten(1);
        return classifier.call(c);
    }
}
