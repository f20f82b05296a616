using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Data;

/// <summary>
/// Training-time image augmentation: a random crop of the image zero-padded by <c>padding</c> pixels on each side (an
/// offset (dy, dx) uniform in {0 … 2p}², so the image moves by up to p pixels) and, optionally, a horizontal flip with
/// probability ½. The draws of row r in epoch e depend only on (seed, e, r): a row is augmented the same way whatever batch
/// it is in and whatever the batch size, and differently in every epoch.
/// </summary>
/// <param name="seed">The run's seed (or a seed derived from it).</param>
/// <param name="padding">Crop padding p ≥ 0 (0: no crop).</param>
/// <param name="horizontalFlip">Whether to flip images left–right with probability ½.</param>
public sealed class Augmentation(long seed, int padding, bool horizontalFlip)
{
    /// <summary>Crop padding p in pixels.</summary>
    public int Padding { get; } = padding >= 0 ? padding : throw new ArgumentOutOfRangeException(nameof(padding), padding, "must be ≥ 0");

    /// <summary>Whether images may be flipped left–right.</summary>
    public bool HorizontalFlip { get; } = horizontalFlip;

    /// <summary>
    /// The draws for row <paramref name="row"/> in epoch <paramref name="epoch"/>: crop offsets into the padded image
    /// (dy, dx ∈ {0 … 2p}; p, p is the identity crop) and whether to flip. A SplitMix64 stream seeded by
    /// Seeds.Derive(seed, "augmentation/epoch", e) then by row.
    /// </summary>
    public (int Dy, int Dx, bool Flip) Draw(long row, int epoch)
    {
        ulong state = (ulong)Seeds.Derive(Seeds.Derive(seed, "augmentation/epoch", epoch), "augmentation/row", row);
        int span = 2 * Padding + 1;
        int dy = (int)(Next(ref state) % (ulong)span);
        int dx = (int)(Next(ref state) % (ulong)span);
        bool flip = HorizontalFlip && (Next(ref state) & 1) == 1;
        return (dy, dx, flip);
    }

    /// <summary>
    /// Augments a batch: <paramref name="images"/> float [B, C, H, W] (any device) whose rows are dataset rows
    /// <paramref name="rows"/> (length B); returns a new tensor [B, C, H, W] where image i is crop (dy, dx) of the zero-padded
    /// image, flipped along W when drawn. The input is not changed; the caller owns the result.
    /// </summary>
    public Tensor Apply(Tensor images, long[] rows, int epoch)
    {
        if (images.dim() != 4) throw new ArgumentException($"expected images [B, C, H, W], got [{string.Join(", ", images.shape)}]", nameof(images));
        if (rows.Length != images.shape[0]) throw new ArgumentException($"{rows.Length} rows for a batch of {images.shape[0]} images", nameof(rows));
        long height = images.shape[2], width = images.shape[3];
        using var scope = NewDisposeScope();
        var padded = Padding > 0 ? nn.functional.pad(images, [Padding, Padding, Padding, Padding]) : images;
        var augmented = new Tensor[rows.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            var (dy, dx, flip) = Draw(rows[i], epoch);
            var crop = padded[i].narrow(1, dy, height).narrow(2, dx, width);
            augmented[i] = flip ? crop.flip(2) : crop;
        }
        return stack(augmented).MoveToOuterDisposeScope();
    }

    private static ulong Next(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
