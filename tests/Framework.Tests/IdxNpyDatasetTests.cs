using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Datasets;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>The idx and npy dataset plugins on tiny files the tests write.</summary>
[Trait("Category", "unit")]
public sealed class IdxNpyDatasetTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private DatasetContext Context => new(SplitSeed: 3, BaseDirectory: _dir.Path, ValidationRows: 0);

    private string P(string name) => Path.Combine(_dir.Path, name);

    private static float[] All(IDataSplit split, out long[] shape)
    {
        using var rows = arange(split.Count);
        using var x = split.Read(rows);
        shape = x.shape;
        return x.data<float>().ToArray();
    }

    [Fact]
    public void Idx_images_of_any_size_become_N_1_H_W_in_0_1_with_classes_from_the_labels()
    {
        byte[] pixels = Enumerable.Range(0, 3 * 2 * 5).Select(i => (byte)(i * 8)).ToArray();
        DatasetFiles.Idx(P("tr-x"), [3, 2, 5], pixels);
        DatasetFiles.Idx(P("tr-y"), [3], [0, 3, 1]);
        DatasetFiles.Idx(P("te-x"), [1, 2, 5], pixels[..10]);
        DatasetFiles.Idx(P("te-y"), [1], [2]);
        using var splits = new IdxDataset(new IdxDatasetOptions { TrainImages = "tr-x", TrainLabels = "tr-y", TestImages = "te-x", TestLabels = "te-y" }).Load(Context);

        splits.InputShape.ShouldBe([1L, 2L, 5L]);
        splits.ClassNames.ShouldBe(["0", "1", "2", "3"]);
        All(splits.Train, out var shape).ShouldBe(pixels.Select(b => b / 255f).ToArray());
        shape.ShouldBe([3L, 1L, 2L, 5L]);
        splits.Test.Labels.data<long>().ToArray().ShouldBe([2L]);
        splits.Normalization.ShouldBeNull();
    }

    [Fact]
    public void Idx_rank_4_images_are_channels_last_and_become_channels_first_with_named_classes()
    {
        // [1, H=1, W=2, C=3]: pixel (0, w) has channel values 10w + c.
        byte[] hwc = [0, 1, 2, 10, 11, 12];
        DatasetFiles.Idx(P("x"), [1, 1, 2, 3], hwc);
        DatasetFiles.Idx(P("y"), [1], [1]);
        using var splits = new IdxDataset(new IdxDatasetOptions { TrainImages = "x", TrainLabels = "y", TestImages = "x", TestLabels = "y", ClassNames = ["no", "yes"] }).Load(Context);

        splits.InputShape.ShouldBe([3L, 1L, 2L]);
        splits.ClassNames.ShouldBe(["no", "yes"]);
        All(splits.Test, out _).ShouldBe(new byte[] { 0, 10, 1, 11, 2, 12 }.Select(b => b / 255f).ToArray());
    }

    [Fact]
    public void Idx_bad_inputs_name_the_file()
    {
        DatasetFiles.Idx(P("x"), [2, 2, 2], new byte[8]);
        DatasetFiles.Idx(P("y"), [2], [0, 1]);
        DatasetFiles.Idx(P("x3"), [1, 3, 3], new byte[9]);
        DatasetFiles.Idx(P("y1"), [1], [0]);
        DatasetFiles.Idx(P("y7"), [2], [0, 7]);
        DatasetFiles.Idx(P("one"), [2], [0, 0]);
        File.WriteAllBytes(P("short"), [0, 0, 8, 3, 0, 0]);
        string Load(IdxDatasetOptions o) => Should.Throw<DataException>(() => new IdxDataset(o).Load(Context)).Message;

        Load(new() { TrainImages = "x", TrainLabels = "y", TestImages = "x3", TestLabels = "y1" })
            .ShouldBe($"{P("x3")}: images are [1, 3, 3] (C, H, W) but the training images {P("x")} are [1, 2, 2]");
        Load(new() { TrainImages = "x", TrainLabels = "y", TestImages = "x", TestLabels = "y7" })
            .ShouldBe($"{P("y7")}: label 7 at row 1 is outside the classes 0 … 1");
        Load(new() { TrainImages = "x", TrainLabels = "one", TestImages = "x", TestLabels = "y" })
            .ShouldBe($"{P("one")}: has only one class; a classifier needs at least two");
        Load(new() { TrainImages = "x", TrainLabels = "y1", TestImages = "x", TestLabels = "y" })
            .ShouldBe($"{P("y1")}: has 1 labels but {P("x")} has 2 rows");
        Load(new() { TrainImages = "short", TrainLabels = "y", TestImages = "x", TestLabels = "y" })
            .ShouldBe($"{P("short")}: is truncated: dimensions ends after 2 of 4 bytes");
        Load(new() { TrainImages = "nope", TrainLabels = "y", TestImages = "x", TestLabels = "y" }).ShouldBe($"{P("nope")}: file not found");
    }

    [Fact]
    public void Npy_reads_every_supported_dtype_and_per_split_files()
    {
        float[] features = [1, 2, 3, 4, 5, 6];
        DatasetFiles.NpyFloat(P("tx.npy"), [3, 2], features);
        DatasetFiles.Npy(P("ty.npy"), "<i4", [3], [1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
        var doubles = new byte[16];
        Buffer.BlockCopy(new[] { 0.25, -8.5 }, 0, doubles, 0, 16);
        DatasetFiles.Npy(P("ex.npy"), "<f8", [1, 2], doubles);
        DatasetFiles.Npy(P("ey.npy"), "|u1", [1], [1]);
        using var splits = new NpyDataset(new NpyDatasetOptions { TrainFeatures = "tx.npy", TrainLabels = "ty.npy", TestFeatures = "ex.npy", TestLabels = "ey.npy" }).Load(Context);

        splits.InputShape.ShouldBe([2L]);
        splits.Classes.ShouldBe(2);
        All(splits.Train, out _).ShouldBe(features);
        splits.Train.Labels.data<long>().ToArray().ShouldBe([1L, 0L, 1L]);
        All(splits.Test, out _).ShouldBe([0.25f, -8.5f]);
    }

    [Fact]
    public void Npy_uint8_images_are_scaled_and_one_pair_splits_by_fractions()
    {
        byte[] pixels = Enumerable.Range(0, 10 * 1 * 2 * 2).Select(i => (byte)i).ToArray();
        DatasetFiles.Npy(P("x.npy"), "|u1", [10, 1, 2, 2], pixels);
        DatasetFiles.NpyLong(P("y.npy"), Enumerable.Range(0, 10).Select(i => (long)(i % 3)).ToArray());
        var options = new NpyDatasetOptions { Features = "x.npy", Labels = "y.npy", Fractions = [0.6, 0, 0.4] };
        options.Validate().ShouldBeEmpty();
        using var splits = new NpyDataset(options).Load(Context);

        splits.InputShape.ShouldBe([1L, 2L, 2L]);
        splits.Validation.ShouldBeNull();
        (splits.Train.Count, splits.Test.Count).ShouldBe((6L, 4L));
        var train = All(splits.Train, out _);
        var firstPixels = Enumerable.Range(0, 6).Select(r => train[4 * r] * 255f).Select(v => (int)Math.Round(v)).ToArray();
        firstPixels.ShouldAllBe(p => p % 4 == 0);                 // whole rows moved: row r starts at pixel 4r
        splits.Train.Labels.data<long>().ToArray().ShouldBe(firstPixels.Select(p => (long)(p / 4 % 3)).ToArray());
    }

    [Fact]
    public void Npy_bad_files_fail_with_one_line()
    {
        DatasetFiles.NpyFloat(P("x.npy"), [2, 2], [1, 2, 3, 4]);
        DatasetFiles.NpyLong(P("y.npy"), [0, 1]);
        DatasetFiles.Npy(P("fortran.npy"), "<f4", [2, 2], new byte[16], fortran: true);
        DatasetFiles.Npy(P("half.npy"), "<f2", [2, 2], new byte[8]);
        DatasetFiles.Npy(P("big.npy"), ">f4", [2, 2], new byte[16]);
        DatasetFiles.NpyFloat(P("fy.npy"), [2], [0, 1]);
        File.WriteAllText(P("text.npy"), "not numpy");
        string Load(string features, string labels) => Should.Throw<DataException>(() =>
            new NpyDataset(new NpyDatasetOptions { TrainFeatures = features, TrainLabels = labels, TestFeatures = "x.npy", TestLabels = "y.npy" }).Load(Context)).Message;

        Load("fortran.npy", "y.npy").ShouldBe($"{P("fortran.npy")}: is in Fortran (column-major) order; save it in C order, e.g. np.save(path, np.ascontiguousarray(a))");
        Load("half.npy", "y.npy").ShouldBe($"{P("half.npy")}: has dtype '<f2'; supported are little-endian float32 (<f4), float64 (<f8), uint8 (|u1), int32 (<i4), int64 (<i8)");
        Load("big.npy", "y.npy").ShouldStartWith($"{P("big.npy")}: has dtype '>f4'");
        Load("x.npy", "fy.npy").ShouldBe($"{P("fy.npy")}: has dtype f4; labels must be integers (uint8, int32 or int64)");
        Load("text.npy", "y.npy").ShouldBe($"{P("text.npy")}: is not a .npy file (no \\x93NUMPY magic)");
        Load("y.npy", "y.npy").ShouldBe($"{P("y.npy")}: has shape (2); expected features [N, F] or images [N, C, H, W]");
    }
}
