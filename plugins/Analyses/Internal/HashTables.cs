using SubnetworkEnsembles.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Analyses.Internal;

/// <summary>
/// Images as 8-bit grey/RGB pictures and the member × member tables of their perceptual-hash distances, shared by
/// perceptual-hash (SmoothGrad maps, inputs, feature visualisations) and feature-vis (its own images).
/// </summary>
internal static class HashTables
{
    /// <summary>The hashes, in table order: name and caption.</summary>
    public static readonly (string Name, string Caption)[] Kinds =
    [
        ("ahash", "average hash, 64 bits"), ("phash", "perceptual (DCT) hash, 64 bits"), ("dhash", "difference hash, 64 bits"),
        ("whash", "wavelet (Haar) hash, 64 bits"), ("colorhash", "colour hash"),
    ];

    /// <summary>
    /// One table per hash of <see cref="Kinds"/>: value [i][j] = mean over images n of Hamming(hash(images[i][n]),
    /// hash(images[j][n])) — images[member][n] are the member's pictures, the same n-th subject for every member.
    /// </summary>
    public static List<AnalysisTable> Distances(IReadOnlyList<IReadOnlyList<(byte[,] Grey, byte[,,] Rgb)>> images, IReadOnlyList<AnalysisMember> members, int colourBits)
    {
        // hashes[member][image][kind]
        var hashes = images.Select(member => member.Select(image => Hash(image, colourBits)).ToList()).ToList();
        return Kinds.Select((kind, k) => MemberTables.Pairwise(kind.Name, $"mean Hamming distance, {kind.Caption}{(k == 4 ? $" ({hashes[0][0][4].Length} bits)" : "")}",
            members, (i, j) => hashes[i].Zip(hashes[j]).Average(p => ImageHashes.Hamming(p.First[k], p.Second[k])))).ToList();
    }

    private static bool[][] Hash((byte[,] Grey, byte[,,] Rgb) image, int colourBits) =>
        [ImageHashes.Average(image.Grey), ImageHashes.Perceptual(image.Grey), ImageHashes.Difference(image.Grey), ImageHashes.Wavelet(image.Grey),
            ImageHashes.Colour(image.Rgb, colourBits)];

    /// <summary>A map [H, W] as grey bytes round(255 · (m − min)/(max − min)) (zeros when constant), with its RGB (r = g = b).</summary>
    public static (byte[,] Grey, byte[,,] Rgb) GreyImage(Tensor map)
    {
        var bytes = Bytes(map);
        int h = (int)map.shape[0], w = (int)map.shape[1];
        var grey = new byte[h, w];
        var rgb = new byte[h, w, 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) grey[y, x] = rgb[y, x, 0] = rgb[y, x, 1] = rgb[y, x, 2] = bytes[y * w + x];
        return (grey, rgb);
    }

    /// <summary>
    /// An input-shaped image [C, H, W] (any other shape is read as one row [1, 1, n]): 3 channels are RGB min–max scaled
    /// to bytes over all channels, with Pillow's grey conversion; any other channel count is averaged to grey first.
    /// </summary>
    public static (byte[,] Grey, byte[,,] Rgb) InputImage(Tensor input)
    {
        using var scope = NewDisposeScope();
        var chw = input.dim() == 3 ? input : input.reshape(1, 1, -1);
        if (chw.shape[0] != 3) return GreyImage(chw.mean([0]));
        var bytes = Bytes(chw.permute(1, 2, 0));
        int h = (int)chw.shape[1], w = (int)chw.shape[2];
        var rgb = new byte[h, w, 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++) rgb[y, x, c] = bytes[(y * w + x) * 3 + c];
        return (PillowImages.Grey(rgb), rgb);
    }

    /// <summary>The values of <paramref name="values"/> min–max scaled to bytes, in row-major order.</summary>
    private static byte[] Bytes(Tensor values)
    {
        using var scope = NewDisposeScope();
        var v = values.to_type(ScalarType.Float64).contiguous().cpu();
        double low = v.min().ToDouble(), span = v.max().ToDouble() - low;
        return v.data<double>().Select(x => span > 0 ? (byte)Math.Round(255 * (x - low) / span, MidpointRounding.AwayFromZero) : (byte)0).ToArray();
    }
}
