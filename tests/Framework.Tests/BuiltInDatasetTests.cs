using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Datasets;
using SubnetworkEnsembles.Engine.Data;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>The fashion-mnist and spirals plugins give exactly the tensors of the engine's DatasetLoader they replace.</summary>
[Trait("Category", "unit")]
public sealed class BuiltInDatasetTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Tensor Inputs(IDataSplit split) => ((TensorSplit)split).Inputs;

    [Fact]
    public void Spirals_train_validation_and_test_equal_the_old_loaders_for_the_same_spec()
    {
        var spec = new DataSpec { Dataset = DatasetName.Spirals, Points = 120, TestPoints = 30, Noise = 0.7, Validation = 20, SplitSeed = 5 };
        using var old = DatasetLoader.Load(spec);
        var options = new SpiralsDatasetOptions { Points = 120, TestPoints = 30, Noise = 0.7 };
        using var splits = new SpiralsDataset(options).Load(new DatasetContext(5, _dir.Path, 20));

        Inputs(splits.Train).IsSameAs(old.Train.Inputs).ShouldBeTrue();
        splits.Train.Labels.IsSameAs(old.Train.Labels).ShouldBeTrue();
        Inputs(splits.Validation!).IsSameAs(old.Validation.Inputs).ShouldBeTrue();
        splits.Validation!.Labels.IsSameAs(old.Validation.Labels).ShouldBeTrue();
        Inputs(splits.Test).IsSameAs(old.Test.Inputs).ShouldBeTrue();
        splits.Test.Labels.IsSameAs(old.Test.Labels).ShouldBeTrue();
        (splits.Train.Count, splits.Validation.Count, splits.Test.Count).ShouldBe((100L, 20L, 30L));
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
        DatasetFiles.Idx(Path.Combine(_dir.Path, "train-images-idx3-ubyte"), [7, 28, 28], Bytes(7 * 784));
        DatasetFiles.Idx(Path.Combine(_dir.Path, "train-labels-idx1-ubyte"), [7], [0, 9, 3, 3, 1, 2, 8]);
        DatasetFiles.Idx(Path.Combine(_dir.Path, "t10k-images-idx3-ubyte"), [3, 28, 28], Bytes(3 * 784));
        DatasetFiles.Idx(Path.Combine(_dir.Path, "t10k-labels-idx1-ubyte"), [3], [5, 6, 7]);
        using var old = DatasetLoader.Load(new DataSpec { Directory = _dir.Path, Validation = 2, SplitSeed = 11 });
        using var splits = new FashionMnistDataset(new FashionMnistDatasetOptions { Directory = "." }).Load(new DatasetContext(11, _dir.Path, 2));

        splits.Validation.ShouldBeNull();
        splits.ClassNames[9].ShouldBe("Ankle boot");
        splits.Normalization!.Mean.ShouldBe([0.2860f]);
        splits.Normalization.Std.ShouldBe([0.3530f]);
        using var test = Inputs(splits.Test).clone().sub_(0.2860f).div_(0.3530f);
        test.IsSameAs(old.Test.Inputs).ShouldBeTrue();
        splits.Test.Labels.IsSameAs(old.Test.Labels).ShouldBeTrue();

        // The host carves validation with the engine's permutation: the same rows come out.
        using var train = Inputs(splits.Train).clone().sub_(0.2860f).div_(0.3530f);
        using var g = new Generator((ulong)Seeds.Derive(11, "validation-split"));
        using var perm = randperm(7, generator: g);
        using var trainRows = perm.narrow(0, 2, 5).sort().Values;
        using var carved = train.index_select(0, trainRows);
        carved.IsSameAs(old.Train.Inputs).ShouldBeTrue();
        using var validationRows = perm.narrow(0, 0, 2);
        using var carvedValidation = train.index_select(0, validationRows);
        carvedValidation.IsSameAs(old.Validation.Inputs).ShouldBeTrue();
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
    public void The_installed_fashion_mnist_test_split_equals_the_old_loaders()
    {
        const string installed = "/usr/share/datasets/fashion-mnist";
        Skip.IfNot(Directory.Exists(installed), $"Fashion-MNIST is not installed in {installed}");
        using var old = DatasetLoader.Load(new DataSpec { Directory = installed, Validation = 5000 });
        using var splits = new FashionMnistDataset(new FashionMnistDatasetOptions()).Load(new DatasetContext(0, _dir.Path, 5000));
        using var test = Inputs(splits.Test).clone().sub_(0.2860f).div_(0.3530f);
        test.IsSameAs(old.Test.Inputs).ShouldBeTrue();
        (splits.Train.Count, splits.Test.Count).ShouldBe((60000L, 10000L));
    }
}
