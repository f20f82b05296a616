using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Datasets;
using SubnetworkEnsembles.Engine.Data;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// The fashion-mnist and spirals plugins, prepared by the host, give exactly the tensors of the engine's old DatasetLoader
/// they replaced: their SHA-256 digests (first 16 hex digits of the little-endian bytes) were recorded from it before it was removed.
/// </summary>
[Trait("Category", "unit")]
public sealed class BuiltInDatasetTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Tensor Inputs(IDataSplit split) => ((TensorSplit)split).Inputs;

    private static string Digest(Tensor t)
    {
        using var c = t.contiguous().cpu();
        var bytes = c.dtype == ScalarType.Int64 ? c.data<long>().ToArray().SelectMany(BitConverter.GetBytes).ToArray()
            : c.data<float>().ToArray().SelectMany(BitConverter.GetBytes).ToArray();
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes))[..16];
    }

    private static string[] Digests(DataSplits d) =>
        [Digest(d.Train.Inputs), Digest(d.Train.Labels), Digest(d.Validation.Inputs), Digest(d.Validation.Labels), Digest(d.Test.Inputs), Digest(d.Test.Labels)];

    [Fact]
    public void Spirals_train_validation_and_test_equal_the_old_loaders_for_the_same_spec()
    {
        var options = new SpiralsDatasetOptions { Points = 120, TestPoints = 30, Noise = 0.7 };
        var config = new SubnetworkEnsembles.Experiments.Configuration.DataConfig
        {
            Dataset = new() { Type = "spirals", Kind = PluginKind.Dataset, BoundOptions = options }, Validation = 20, SplitSeed = 5,
        };
        using (var prepared = TestData.Load(config))
            Digests(prepared).ShouldBe(["853E54EE1AF52F18", "390B29178E8B60E2", "FD294A27514AC478", "0FD3EA54FFDEABA7", "87CFA3419A6F74F0", "12C8BE0ABBAE3383"]);
        using var splits = new SpiralsDataset(options).Load(new DatasetContext(5, _dir.Path, 20));
        (splits.Train.Count, splits.Validation!.Count, splits.Test.Count).ShouldBe((100L, 20L, 30L));
        splits.InputShape.ShouldBe([2L]);
        splits.Classes.ShouldBe(2);
        splits.Normalization!.IsIdentity.ShouldBeTrue();

        using var otherSeed = new SpiralsDataset(options).Load(new DatasetContext(6, _dir.Path, 20));
        Inputs(otherSeed.Test).IsSameAs(Inputs(splits.Test)).ShouldBeFalse();
        new SpiralsDatasetOptions { Points = 5, TestPoints = 1, Noise = -1 }.Validate()
            .ShouldBe(["points: must be ≥ 10, got 5", "test_points: must be ≥ 2, got 1", "noise: must be ≥ 0, got -1"]);
        Should.Throw<DataException>(() => new SpiralsDataset(options).Load(new DatasetContext(5, _dir.Path, 120))).Message
            .ShouldBe("data.validation: must be in 0 … 119 (smaller than spirals' points: 120), got 120");
    }

    [Fact]
    public void Fashion_mnist_raw_pixels_normalised_by_its_statistics_equal_the_old_loaders_bit_for_bit()
    {
        var random = new Random(4);
        byte[] Bytes(int n) { var b = new byte[n]; random.NextBytes(b); return b; }
        byte[] trainPixels = Bytes(7 * 784), testPixels = Bytes(3 * 784);
        DatasetFiles.Idx(Path.Combine(_dir.Path, "train-images-idx3-ubyte"), [7, 28, 28], trainPixels);
        DatasetFiles.Idx(Path.Combine(_dir.Path, "train-labels-idx1-ubyte"), [7], [0, 9, 3, 3, 1, 2, 8]);
        DatasetFiles.Idx(Path.Combine(_dir.Path, "t10k-images-idx3-ubyte"), [3, 28, 28], testPixels);
        DatasetFiles.Idx(Path.Combine(_dir.Path, "t10k-labels-idx1-ubyte"), [3], [5, 6, 7]);
        using var splits = new FashionMnistDataset(new FashionMnistDatasetOptions { Directory = "." }).Load(new DatasetContext(11, _dir.Path, 2));
        var config = new SubnetworkEnsembles.Experiments.Configuration.DataConfig
        {
            Dataset = new() { Type = "fashion-mnist", Kind = PluginKind.Dataset, BoundOptions = new FashionMnistDatasetOptions { Directory = _dir.Path } },
            Validation = 2, SplitSeed = 11,
        };
        using var prepared = TestData.Load(config);

        splits.Validation.ShouldBeNull();
        splits.ClassNames[9].ShouldBe("Ankle boot");
        splits.Normalization!.Mean.ShouldBe([0.2860f]);
        splits.Normalization.Std.ShouldBe([0.3530f]);
        // Recomputed from the bytes: x / 255 then (x − 0.2860) / 0.3530, the old loader's operations in its order.
        Tensor Expected(byte[] pixels, long n) => tensor(pixels, [n, 1, 28, 28]).to_type(ScalarType.Float32).div_(255f).sub_(0.2860f).div_(0.3530f);
        using var expectedTest = Expected(testPixels, 3);
        prepared.Test.Inputs.IsSameAs(expectedTest).ShouldBeTrue();
        prepared.Test.Labels.IsSameAs(splits.Test.Labels).ShouldBeTrue();

        // The host carves validation with the engine's permutation: its first 2 rows validate, the rest train in file order.
        using var train = Expected(trainPixels, 7);
        using var g = new Generator((ulong)Seeds.Derive(11, "validation-split"));
        using var perm = randperm(7, generator: g);
        using var trainRows = perm.narrow(0, 2, 5).sort().Values;
        using var carved = train.index_select(0, trainRows);
        prepared.Train.Inputs.IsSameAs(carved).ShouldBeTrue();
        using var validationRows = perm.narrow(0, 0, 2);
        using var carvedValidation = train.index_select(0, validationRows);
        prepared.Validation.Inputs.IsSameAs(carvedValidation).ShouldBeTrue();
    }

    [Fact]
    public void Fashion_mnist_bad_files_fail_with_one_line()
    {
        DatasetFiles.Idx(Path.Combine(_dir.Path, "train-images-idx3-ubyte"), [2, 28, 28], new byte[2 * 784]);
        DatasetFiles.Idx(Path.Combine(_dir.Path, "train-labels-idx1-ubyte"), [2], [0, 10]);
        string Load(string directory) => Should.Throw<DataException>(() =>
            new FashionMnistDataset(new FashionMnistDatasetOptions { Directory = directory }).Load(new DatasetContext(0, _dir.Path, 0))).Message;

        Load(".").ShouldBe($"{Path.Combine(_dir.Path, "train-labels-idx1-ubyte")}: label 10 at row 1 is outside the classes 0 … 9");
        Load("missing").ShouldBe($"{Path.Combine(_dir.Path, "missing")}: directory not found; install Fashion-MNIST with 'apt-get install -y dataset-fashion-mnist' or set data.directory");
    }

    [SkippableFact]
    public void The_installed_fashion_mnist_splits_equal_the_old_loaders()
    {
        const string installed = "/usr/share/datasets/fashion-mnist";
        Skip.IfNot(Directory.Exists(installed), $"Fashion-MNIST is not installed in {installed}");
        using var prepared = TestData.Load(TestData.Fashion(validation: 5000));
        Digests(prepared).ShouldBe(["7DC8FF0E9B40EB96", "4C1C5FF5BC71C13B", "2665E4425B2B8A9E", "4D43904C358201EF", "7769E9257880465C", "D51D859896C55775"]);
        (prepared.Train.Count, prepared.Validation.Count, prepared.Test.Count).ShouldBe((55000L, 5000L, 10000L));
    }
}
