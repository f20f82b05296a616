namespace SubnetworkEnsembles.Models.Internal;

/// <summary>Checks of the input shape an image model is built for.</summary>
internal static class ImageInput
{
    /// <summary>
    /// Returns (C, H, W) of <paramref name="inputShape"/> when it is [C, H, W] with C ≥ 1 and H, W ≥ <paramref name="minimumSide"/>;
    /// otherwise throws an <see cref="ArgumentException"/> that names the architecture and the shape it got.
    /// </summary>
    public static (long Channels, long Height, long Width) Require(string architecture, long[] inputShape, long minimumSide)
    {
        if (inputShape.Length != 3 || inputShape[0] < 1 || inputShape[1] < minimumSide || inputShape[2] < minimumSide)
            throw new ArgumentException($"{architecture} expects image input [C, H, W] with C ≥ 1 and H, W ≥ {minimumSide}, " +
                $"got [{string.Join(", ", inputShape)}]", nameof(inputShape));
        return (inputShape[0], inputShape[1], inputShape[2]);
    }
}
