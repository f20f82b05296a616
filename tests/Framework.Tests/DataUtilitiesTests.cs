using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Data;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>NormalizationStatistics (streamed per-channel/per-feature statistics) and Augmentation (seeded crop and flip).</summary>
[Trait("Category", "unit")]
public sealed class DataUtilitiesTests
{
    [Fact]
    public void Image_statistics_are_per_channel_over_all_rows_and_pixels_whatever_the_batch_size()
    {
        using var g = new Generator(3);
        using var images = rand([7, 3, 4, 5], generator: g).mul_(tensor(new float[] { 1, 2, 3 }).reshape(1, 3, 1, 1));
        using var split = new TensorSplit(images.clone(), zeros(7, dtype: ScalarType.Int64));
        using var perChannel = images.to_type(ScalarType.Float64).transpose(0, 1).reshape(3, -1);
        var mean = perChannel.mean([1]).data<double>().ToArray();
        var std = perChannel.std(1, unbiased: false).data<double>().ToArray();

        foreach (int batch in new[] { 1, 3, 7, 100 })
        {
            var stats = NormalizationStatistics.Compute(split, batch);
            stats.Mean.Length.ShouldBe(3);
            for (int c = 0; c < 3; c++)
            {
                stats.Mean[c].ShouldBe((float)mean[c], 1e-6f);
                stats.Std[c].ShouldBe((float)std[c], 1e-6f);
            }
        }
    }

    [Fact]
    public void Table_statistics_are_per_feature_and_a_constant_feature_gets_std_1()
    {
        using var split = new TensorSplit(tensor(new float[] { 1, 5, 3, 5, 8, 5 }, [3, 2]), zeros(3, dtype: ScalarType.Int64));
        var stats = NormalizationStatistics.Compute(split, 2);
        stats.Mean.ShouldBe([4f, 5f]);
        stats.Std[0].ShouldBe((float)Math.Sqrt(26.0 / 3), 1e-6f);
        stats.Std[1].ShouldBe(1f);
    }

    private static Tensor Images(int count) => arange(count * 2 * 5 * 6, dtype: ScalarType.Float32).reshape(count, 2, 5, 6).add_(1);

    [Fact]
    public void A_row_is_augmented_the_same_whatever_batch_it_is_in_and_differently_per_epoch()
    {
        var augmentation = new Augmentation(seed: 9, padding: 2, horizontalFlip: true);
        using var all = Images(6);
        using var whole = augmentation.Apply(all, [10, 11, 12, 13, 14, 15], epoch: 1);
        using var pair = all.index_select(0, tensor(new long[] { 4, 1 }));
        using var part = augmentation.Apply(pair, [14, 11], epoch: 1);
        part[0].IsSameAs(whole[4]).ShouldBeTrue();
        part[1].IsSameAs(whole[1]).ShouldBeTrue();
        using var again = augmentation.Apply(all, [10, 11, 12, 13, 14, 15], epoch: 1);
        again.IsSameAs(whole).ShouldBeTrue();
        using var nextEpoch = augmentation.Apply(all, [10, 11, 12, 13, 14, 15], epoch: 2);
        nextEpoch.IsSameAs(whole).ShouldBeFalse();
        using var otherSeed = new Augmentation(seed: 10, padding: 2, horizontalFlip: true).Apply(all, [10, 11, 12, 13, 14, 15], epoch: 1);
        otherSeed.IsSameAs(whole).ShouldBeFalse();
        all.IsSameAs(Images(6)).ShouldBeTrue();                         // the input is not changed
    }

    [Fact]
    public void Each_image_is_the_drawn_crop_of_the_zero_padded_image_flipped_when_drawn()
    {
        var augmentation = new Augmentation(seed: 1, padding: 2, horizontalFlip: true);
        using var images = Images(40);
        long[] rows = Enumerable.Range(100, 40).Select(i => (long)i).ToArray();
        using var augmented = augmentation.Apply(images, rows, epoch: 0);
        augmented.shape.ShouldBe(images.shape);
        using var padded = nn.functional.pad(images, [2, 2, 2, 2]);
        var draws = rows.Select(r => augmentation.Draw(r, 0)).ToList();
        for (int i = 0; i < rows.Length; i++)
        {
            var (dy, dx, flip) = draws[i];
            using var crop = padded[i].narrow(1, dy, 5).narrow(2, dx, 6);
            using var expected = flip ? crop.flip(2) : crop.clone();
            augmented[i].IsSameAs(expected).ShouldBeTrue($"row {rows[i]}");
        }
        draws.Count(d => d.Flip).ShouldBeInRange(8, 32);                // about half flipped
        draws.Select(d => (d.Dy, d.Dx)).Distinct().Count().ShouldBeGreaterThan(10);
        draws.ShouldAllBe(d => d.Dy >= 0 && d.Dy <= 4 && d.Dx >= 0 && d.Dx <= 4);
        draws.Any(d => d.Dy != 2 || d.Dx != 2).ShouldBeTrue();
        using var zeros = augmented.eq(0).sum();
        zeros.item<long>().ShouldBeGreaterThan(0);                     // padding came in (the images have no zeros)
    }

    [Fact]
    public void Without_padding_or_flip_the_images_come_back_unchanged()
    {
        using var images = Images(3);
        using var same = new Augmentation(seed: 1, padding: 0, horizontalFlip: false).Apply(images, [0, 1, 2], epoch: 5);
        same.IsSameAs(images).ShouldBeTrue();
        using var flipOnly = new Augmentation(seed: 1, padding: 0, horizontalFlip: true).Apply(Images(20), Enumerable.Range(0, 20).Select(i => (long)i).ToArray(), epoch: 0);
        using var reference = Images(20);
        using var flipped = reference.flip(3);
        Enumerable.Range(0, 20).Count(i => flipOnly[i].IsSameAs(flipped[i])).ShouldBeInRange(3, 17);
        Enumerable.Range(0, 20).Count(i => flipOnly[i].IsSameAs(reference[i]) || flipOnly[i].IsSameAs(flipped[i])).ShouldBe(20);
    }
}
