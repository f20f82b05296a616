using Shouldly;
using SubnetworkEnsembles.Analyses;
using SubnetworkEnsembles.Analyses.Internal;
using SubnetworkEnsembles.Testing;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// The hashes of imagehash 4.3 on hand-derived cases. Every image already has the size its hash resizes to (8 × 8 for
/// ahash, 9 × 8 for dhash, 32 × 32 for phash, 8 × 8 or 16 × 16 for whash), so Pillow's resize is the identity and the
/// expected bits follow from the definitions alone (written out beside each case).
/// </summary>
public class ImageHashTests
{
    private static byte[,] Image(int height, int width, Func<int, int, int> pixel)
    {
        var image = new byte[height, width];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) image[y, x] = (byte)pixel(y, x);
        return image;
    }

    private static bool[] Bits(int count, Func<int, bool> bit) => Enumerable.Range(0, count).Select(bit).ToArray();

    [Trait("Category", "unit")]
    [Fact]
    public void Average_hash_of_a_constant_a_ramp_and_a_checkerboard()
    {
        // Constant: no pixel exceeds the mean → 64 zeros.
        ImageHashes.Average(Image(8, 8, (_, _) => 77)).ShouldBe(Bits(64, _ => false));
        // p = 4 · (8r + c) = 0 … 252, mean 126: p > 126 ⇔ 8r + c ≥ 32 → the last 32 bits.
        ImageHashes.Average(Image(8, 8, (r, c) => 4 * (8 * r + c))).ShouldBe(Bits(64, i => i >= 32));
        // Checkerboard 0/255, mean 127.5: bit = (r + c) odd.
        ImageHashes.Average(Image(8, 8, (r, c) => (r + c) % 2 * 255)).ShouldBe(Bits(64, i => (i / 8 + i % 8) % 2 == 1));
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Difference_hash_compares_each_pixel_with_its_left_neighbour_in_a_9_by_8_image()
    {
        // Rising left to right: every p[r, c + 1] > p[r, c] → 64 ones; falling → 64 zeros; constant → zeros.
        ImageHashes.Difference(Image(8, 9, (_, c) => 20 * c)).ShouldBe(Bits(64, _ => true));
        ImageHashes.Difference(Image(8, 9, (_, c) => 200 - 20 * c)).ShouldBe(Bits(64, _ => false));
        ImageHashes.Difference(Image(8, 9, (_, _) => 5)).ShouldBe(Bits(64, _ => false));
        // Checkerboard 0/255: p[r, c + 1] > p[r, c] exactly where p[r, c] = 0, i.e. (r + c) even.
        ImageHashes.Difference(Image(8, 9, (r, c) => (r + c) % 2 * 255)).ShouldBe(Bits(64, i => (i / 8 + i % 8) % 2 == 0));
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Perceptual_hash_recovers_the_signs_of_designed_low_frequency_coefficients()
    {
        // Build the 32 × 32 image from its unnormalised DCT-II coefficients Y[k, l] (k along the rows' axis): the 64 low
        // ones are +1000 where (3k + l) mod 4 < 2 (32 of them, (0, 0) among them, not symmetric in k and l) and −1000 elsewhere,
        // except Y[0, 0] = 128 · 4 · 32² (a mean pixel of 128); all higher ones 0. Inverse: x[n, m] = (1/32²) Σ c_k c_l Y[k, l]
        // cos(πk(2n+1)/64) cos(πl(2m+1)/64) with c_0 = 1/2, c = 1 otherwise. Rounding to bytes moves each coefficient by
        // far less than 1000, so the median of the 64 is between −1000 and +1000 and the hash is the pattern itself.
        // A transposed DCT, imagehash's older [:8, 1:9] block or a single-axis DCT would give other bits.
        const int N = 32;
        double Coefficient(int k, int l) => k == 0 && l == 0 ? 128.0 * 4 * N * N : (3 * k + l) % 4 < 2 ? 1000 : -1000;
        var image = Image(N, N, (n, m) =>
        {
            double x = 0;
            for (int k = 0; k < 8; k++)
                for (int l = 0; l < 8; l++)
                    x += (k == 0 ? 0.5 : 1) * (l == 0 ? 0.5 : 1) * Coefficient(k, l) * Math.Cos(Math.PI * k * (2 * n + 1) / (2.0 * N)) * Math.Cos(Math.PI * l * (2 * m + 1) / (2.0 * N));
            return (int)Math.Clamp(Math.Round(x / (N * N)), 0, 255);
        });
        ImageHashes.Perceptual(image).ShouldBe(Bits(64, i => (3 * (i / 8) + i % 8) % 4 < 2));
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Wavelet_hash_compares_haar_block_averages_with_their_median()
    {
        // 8 × 8: S = 8, no DWT level: bit = pixel > median (after the mean is removed, which keeps the order): the ramp
        // 4 · (8r + c) has median 126 → the last 32 bits.
        ImageHashes.Wavelet(Image(8, 8, (r, c) => 4 * (8 * r + c))).ShouldBe(Bits(64, i => i >= 32));
        // 16 × 16: S = 16, one Haar level: the LL band is the 2 × 2 block sums / 2. Block b = 8R + C has base 2b + 60; its
        // top-left pixel is base + 48 (b < 32) or base − 48 (b ≥ 32) and the other three base ∓ 16, so every block sums to
        // 4 · base and the bits are b ≥ 32. Taking every other pixel instead of averaging would give other bits.
        var image = Image(16, 16, (y, x) =>
        {
            int b = y / 2 * 8 + x / 2, baseline = 2 * b + 60;
            bool topLeft = y % 2 == 0 && x % 2 == 0;
            return b < 32 ? baseline + (topLeft ? 48 : -16) : baseline + (topLeft ? -48 : 16);
        });
        ImageHashes.Wavelet(image).ShouldBe(Bits(64, i => i >= 32));
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Colour_hash_encodes_the_black_grey_and_hue_fractions_as_imagehash_writes_them()
    {
        // 16 pixels: 4 black, 4 grey (128, 128, 128), 4 red (255, 0, 0: L 76, S 255, H 0 → bright, hue bin 0) and 4 pink
        // (255, 150, 150: L 181, S 105, H 0 → faint, hue bin 0). Fractions: black 4/16, grey 4/16 → ⌊0.25 · 8⌋ = 2; of the
        // 8 coloured pixels faint bin 0 = 4/8 and bright bin 0 = 4/8 → 4. imagehash writes v as [v//4 % 8 > 0, v//2 % 4 > 0,
        // v % 2 > 0]: 2 → 0 1 0, 4 → 1 1 0, 0 → 0 0 0. Order: black, grey, 6 faint bins, 6 bright bins.
        var rgb = new byte[4, 4, 3];
        byte[][] colours = [[0, 0, 0], [128, 128, 128], [255, 0, 0], [255, 150, 150]];
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++)
                for (int c = 0; c < 3; c++) rgb[y, x, c] = colours[y][c];
        bool[] two = [false, true, false], four = [true, true, false], zero = [false, false, false];
        bool[] expected = [.. two, .. two, .. four, .. Enumerable.Repeat(zero, 5).SelectMany(z => z), .. four, .. Enumerable.Repeat(zero, 5).SelectMany(z => z)];
        ImageHashes.Colour(rgb).ShouldBe(expected);
        // All black: v = min(7, 8) = 7 → 1 1 1, then 39 zeros.
        ImageHashes.Colour(new byte[2, 2, 3]).ShouldBe(Bits(42, i => i < 3));
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Pillow_conversions_and_resizing_keep_what_they_must()
    {
        PillowImages.Hsv(255, 150, 150).ShouldBe(((byte)0, (byte)105, (byte)255));
        PillowImages.Grey(new byte[1, 1, 3] { { { 255, 0, 0 } } })[0, 0].ShouldBe((byte)76);    // (255 · 19595 + 32768) >> 16
        var ramp = Image(8, 8, (r, c) => 4 * (8 * r + c));
        PillowImages.Resize(ramp, 8, 8).ShouldBe(ramp);                                        // same size: the image itself
        PillowImages.Resize(Image(28, 28, (_, _) => 99), 8, 8).Cast<byte>().ShouldAllBe(v => v == 99);   // weights sum to 1
        ImageHashes.Hamming(Bits(64, i => i < 10), Bits(64, i => i < 3)).ShouldBe(7);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Perceptual_hash_meets_the_analysis_contract_on_maps_and_inputs()
    {
        AnalysisContract.Check(() => new PerceptualHashAnalysis(new PerceptualHashOptions { Images = 3, Samples = 2 }));
        using var scratch = new AnalysisScratch();
        var context = scratch.Context;
        var output = new PerceptualHashAnalysis(new PerceptualHashOptions { Images = 3, Source = HashedImages.Inputs }).Run(context);
        output.Tables.Select(t => t.Name).ShouldBe(["ahash", "phash", "dhash", "whash", "colorhash"]);
        // Every network "has" the same input images: all distances 0.
        output.Tables.SelectMany(t => t.Values.SelectMany(r => r)).ShouldAllBe(v => v == 0);
    }
}
