using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Datasets;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>The image-folder dataset plugin on tiny PNG folders the tests write.</summary>
[Trait("Category", "unit")]
public sealed class ImageFolderDatasetTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private DatasetContext Context => new(SplitSeed: 1, BaseDirectory: _dir.Path, ValidationRows: 0);

    private string P(params string[] parts) => Path.Combine([_dir.Path, .. parts]);

    private static byte Grey(int image, int y, int x) => (byte)(40 * image + 10 * y + x);

    /// <summary>root/train/{cat,dog}/ two grey 3×4 images each, root/test/dog/ one.</summary>
    private void WriteGreyFolder()
    {
        int image = 0;
        foreach (var (split, cls, n) in new[] { ("train", "cat", 2), ("train", "dog", 2), ("test", "dog", 1) })
            for (int i = 0; i < n; i++, image++)
            {
                int k = image;
                DatasetFiles.GreyPng(P("root", split, cls, $"img{i}.png"), 3, 4, (y, x) => Grey(k, y, x));
            }
    }

    private static Tensor ReadRows(IDataSplit split, params long[] rows)
    {
        using var r = tensor(rows);
        return split.Read(r);
    }

    [Fact]
    public void Classes_are_the_sorted_train_folders_and_rows_decode_to_their_pixels()
    {
        WriteGreyFolder();
        using var splits = new ImageFolderDataset(new ImageFolderDatasetOptions { Directory = "root" }).Load(Context);

        splits.ClassNames.ShouldBe(["cat", "dog"]);
        splits.InputShape.ShouldBe([1L, 3L, 4L]);
        splits.Train.Count.ShouldBe(4);
        splits.Train.Labels.data<long>().ToArray().ShouldBe([0L, 0L, 1L, 1L]);
        splits.Test.Labels.data<long>().ToArray().ShouldBe([1L]);
        splits.Validation.ShouldBeNull();

        using var batch = ReadRows(splits.Train, 3, 0);          // in the order asked
        batch.shape.ShouldBe([2L, 1L, 3L, 4L]);
        var expected = new[] { 3, 0 }.SelectMany(k => Enumerable.Range(0, 12).Select(p => Grey(k, p / 4, p % 4) / 255f)).ToArray();
        batch.data<float>().ToArray().ShouldBe(expected);
    }

    [Fact]
    public void Rgb_images_are_channel_major_and_can_be_read_as_grey_or_resized()
    {
        static byte Value(int c, int y, int x) => (byte)(100 * c + 20 * y + x);
        foreach (var split in new[] { "train", "test" })
            foreach (var cls in new[] { "a", "b" })
                DatasetFiles.RgbPng(P("rgb", split, cls, "x.png"), 2, 3, Value);

        using var rgb = new ImageFolderDataset(new ImageFolderDatasetOptions { Directory = "rgb" }).Load(Context);
        rgb.InputShape.ShouldBe([3L, 2L, 3L]);
        using (var x = ReadRows(rgb.Test, 0))
            x.data<float>().ToArray().ShouldBe(Enumerable.Range(0, 18).Select(i => Value(i / 6, i % 6 / 3, i % 3) / 255f).ToArray());

        using var grey = new ImageFolderDataset(new ImageFolderDatasetOptions { Directory = "rgb", Channels = 1 }).Load(Context);
        using (var x = ReadRows(grey.Train, 0))
            x[0, 0, 1, 2].item<float>().ShouldBe((0.299f * 22 + 0.587f * 122 + 0.114f * 222) / 255f, 1e-6f);

        using var resized = new ImageFolderDataset(new ImageFolderDatasetOptions { Directory = "rgb", Resize = [4, 6] }).Load(Context);
        resized.InputShape.ShouldBe([3L, 4L, 6L]);
        using var big = ReadRows(resized.Train, 1);
        big.shape.ShouldBe([1L, 3L, 4L, 6L]);
        big.min().item<float>().ShouldBeGreaterThanOrEqualTo(0f);
        big[0, 2].mean().item<float>().ShouldBe((float)(Enumerable.Range(0, 6).Average(i => Value(2, i / 3, i % 3)) / 255), 0.02f);
    }

    [Fact]
    public void Mixed_sizes_without_resize_name_the_file_and_both_sizes_at_load_and_when_read()
    {
        WriteGreyFolder();
        string late = DatasetFiles.GreyPng(P("root", "train", "dog", "img9.png"), 5, 4, (y, x) => 0);  // not the first of its class
        using var splits = new ImageFolderDataset(new ImageFolderDatasetOptions { Directory = "root" }).Load(Context);
        string first = P("root", "train", "cat", "img0.png");
        Should.Throw<DataException>(() => ReadRows(splits.Train, 4).Dispose()).Message
            .ShouldBe($"{late}: image is 5×4 (H×W) but {first} is 3×4; set resize: [H, W] to use images of different sizes");

        string classFirst = DatasetFiles.GreyPng(P("root", "test", "cat", "a.png"), 3, 7, (y, x) => 0);
        Should.Throw<DataException>(() => new ImageFolderDataset(new ImageFolderDatasetOptions { Directory = "root" }).Load(Context)).Message
            .ShouldBe($"{classFirst}: image is 3×7 (H×W) but {first} is 3×4; set resize: [H, W] to use images of different sizes");

        using var resized = new ImageFolderDataset(new ImageFolderDatasetOptions { Directory = "root", Resize = [3, 4] }).Load(Context);
        using var x = ReadRows(resized.Train, 4);
        x.shape.ShouldBe([1L, 1L, 3L, 4L]);
    }

    [Fact]
    public void Bad_folders_and_files_fail_with_one_line()
    {
        WriteGreyFolder();
        string Load() => Should.Throw<DataException>(() => new ImageFolderDataset(new ImageFolderDatasetOptions { Directory = "root" }).Load(Context).Dispose()).Message;

        File.WriteAllText(P("root", "train", "dog", "img5.png"), "not a png");
        using (var splits = new ImageFolderDataset(new ImageFolderDatasetOptions { Directory = "root" }).Load(Context))
            Should.Throw<DataException>(() => ReadRows(splits.Train, 4).Dispose()).Message
                .ShouldBe($"{P("root", "train", "dog", "img5.png")}: cannot be decoded as an image (expected PNG, JPEG or BMP)");

        Directory.CreateDirectory(P("root", "test", "emu"));
        Load().ShouldBe($"{P("root", "test", "emu")}: class 'emu' is not a class of the training folder (cat, dog)");
        Directory.Delete(P("root", "test"), recursive: true);
        Load().ShouldBe($"{P("root", "test")}: directory not found; an image folder holds test/CLASS/*.png (or .jpg, .jpeg, .bmp)");
        Directory.CreateDirectory(P("root", "test", "cat"));
        Load().ShouldBe($"{P("root", "test")}: the test split is empty; it needs at least one row");
        Directory.Delete(P("root", "train", "dog"), recursive: true);
        Load().ShouldBe($"{P("root", "train")}: has only one class; a classifier needs at least two");
    }

    [Fact]
    public void Options_check_resize_and_channels()
    {
        new ImageFolderDatasetOptions { Directory = "r", Resize = [28, 28], Channels = 3 }.Validate().ShouldBeEmpty();
        new ImageFolderDatasetOptions { Directory = "r", Resize = [28] }.Validate().ShouldBe(["resize: must be [H, W] with positive sizes, got [28]"]);
        new ImageFolderDatasetOptions { Directory = "r", Channels = 2 }.Validate().ShouldBe(["channels: must be 1 or 3 (or 0: from the first image), got 2"]);
    }
}
