using System.IO.Compression;
using Shouldly;
using SubnetworkEnsembles.Engine.Data;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

public class DataAndModelTests
{
    [Trait("Category", "unit")]
    [Fact]
    public void Fashion_mnist_loads_from_the_debian_idx_files_with_a_deterministic_validation_split()
    {
        var spec = TestData.Fashion(validation: 5000);
        using var a = TestData.Load(spec);
        a.Train.Count.ShouldBe(55000);
        a.Validation.Count.ShouldBe(5000);
        a.Test.Count.ShouldBe(10000);
        a.Train.Inputs.shape.ShouldBe([55000L, 1, 28, 28]);
        a.Train.Labels.dtype.ShouldBe(ScalarType.Int64);
        a.Train.Labels.min().ToInt64().ShouldBe(0);
        a.Train.Labels.max().ToInt64().ShouldBe(9);
        a.Train.Inputs.mean().ToDouble().ShouldBe(0, 0.02);           // normalised with the training mean/std
        a.Train.Inputs.std().ToDouble().ShouldBe(1, 0.02);
        // The same split every time; train and validation rows are disjoint (no validation row is trained on).
        using var b = TestData.Load(spec);
        a.Validation.Labels.IsSameAs(b.Validation.Labels).ShouldBeTrue();
        a.Validation.Inputs.IsSameAs(b.Validation.Inputs).ShouldBeTrue();
        // Every row is hashed: an overlapping split would put thousands of validation images among the training rows;
        // Fashion-MNIST itself holds a few duplicate images, hence the small allowance.
        static HashSet<string> Rows(Tensor images)
        {
            using var bytes = images.reshape(images.shape[0], -1).contiguous();
            var values = bytes.data<float>().ToArray();
            int width = (int)bytes.shape[1];
            return [.. Enumerable.Range(0, (int)bytes.shape[0]).Select(r => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan(r * width, width)))))];
        }
        var trainRows = Rows(a.Train.Inputs);
        Rows(a.Validation.Inputs).Count(trainRows.Contains).ShouldBeLessThan(50, "validation rows also in the training split");
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Subsets_take_the_first_rows()
    {
        using var d = TestData.Load(TestData.Fashion(trainSubset: 1000, testSubset: 500));
        d.Train.Count.ShouldBe(1000);
        d.Test.Count.ShouldBe(500);
        using var full = TestData.Load(TestData.Fashion());
        using var firstTrain = full.Train.Inputs[..1000];
        using var firstTest = full.Test.Inputs[..500];
        d.Test.Inputs.IsSameAs(firstTest).ShouldBeTrue("the test subset is the first 500 test rows");
        d.Validation.Inputs.IsSameAs(full.Validation.Inputs).ShouldBeTrue("a training subset leaves the validation split alone");
        d.Train.Inputs.IsSameAs(firstTrain).ShouldBeTrue("the training subset is the first 1 000 training rows");
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Corrupt_idx_files_are_clear_errors()
    {
        using var dir = new TempDir();
        string Gz(string name, byte[] content)
        {
            string path = Path.Combine(dir.Path, name);
            using var f = File.Create(path);
            using var gz = new GZipStream(f, CompressionLevel.Fastest);
            gz.Write(content);
            return path;
        }
        byte[] header = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28];
        Should.Throw<DataFileException>(() => IdxFile.Read(Gz("magic.gz", [1, 2, 3, 4, .. header[4..]]), 3)).Message.ShouldContain("bad IDX magic");
        Should.Throw<DataFileException>(() => IdxFile.Read(Gz("short.gz", [.. header, .. new byte[100]]), 3)).Message.ShouldContain("truncated: data ends after 100 of 1568 bytes");
        Should.Throw<DataFileException>(() => IdxFile.Read(Gz("long.gz", [.. header, .. new byte[1569]]), 3)).Message.ShouldContain("has data after");
        Should.Throw<DataFileException>(() => IdxFile.Read(Gz("rank.gz", [0, 0, 8, 1, 0, 0, 0, 2]), 3)).Message.ShouldContain("rank is 1, expected 3");
        string notGzip = Path.Combine(dir.Path, "plain.gz");
        File.WriteAllText(notGzip, "this is not gzip at all");
        Should.Throw<DataFileException>(() => IdxFile.Read(notGzip, 3)).Message.ShouldContain("not valid gzip");
        Should.Throw<DataFileException>(() => IdxFile.Read(Path.Combine(dir.Path, "missing.gz"), 3)).Message.ShouldContain("file not found");
        // A well-formed file reads back.
        var (dims, data) = IdxFile.Read(Gz("ok.gz", [.. header, .. Enumerable.Range(0, 1568).Select(i => (byte)i)]), 3);
        dims.ShouldBe([2, 28, 28]);
        data[1567].ShouldBe((byte)(1567 % 256));
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Spirals_are_two_balanced_interleaved_classes()
    {
        using var d = TestData.Load(TestData.Spirals(2500, 250, 250));
        d.Train.Count.ShouldBe(2250);
        d.Validation.Count.ShouldBe(250);
        d.Test.Count.ShouldBe(250);
        d.Classes.ShouldBe(2);
        d.Train.Labels.to_type(ScalarType.Float64).mean().ToDouble().ShouldBe(0.5, 0.05);
        // Point symmetry: class 1 is class 0 rotated by π, so the class means are near opposite.
        d.Train.Inputs.abs().max().ToDouble().ShouldBeLessThan(2);
    }

    [Trait("Category", "unit")]
    [Theory]
    [InlineData(LeNetSize.Small, 250_000)]
    [InlineData(LeNetSize.Medium, 1_000_000)]
    [InlineData(LeNetSize.Large, 4_000_000)]
    public void LeNet5_sizes_match_the_spec(LeNetSize size, long target)
    {
        using var model = TestModels.LeNet(size, [1, 28, 28], 10);
        model.ParameterCount.ShouldBeInRange((long)(target * 0.9), (long)(target * 1.1));
        model.MaskedLayers.Count.ShouldBe(5);           // 2 conv + 3 linear weights
        using var x = randn(2, 1, 28, 28);
        using var y = model.call(x);
        y.shape.ShouldBe([2L, 10]);
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Masks_are_saved_and_loaded_with_the_model()
    {
        using var dir = new TempDir();
        using var model = TestModels.LeNet(LeNetSize.Small, [1, 28, 28], 10);
        var conv = model.MaskedLayers[0];
        using var g = new Generator(3);
        conv.Mask = bernoulli(full(conv.weight.shape, 0.5), g);
        string path = Path.Combine(dir.Path, "m.ckpt");
        model.save(path);

        using var loaded = TestModels.LeNet(LeNetSize.Small, [1, 28, 28], 10);
        loaded.LoadCheckpoint(path);
        loaded.MaskedLayers[0].Mask.IsSameAs(conv.Mask).ShouldBeTrue();
        loaded.Sparsity.ShouldBe(model.Sparsity, 1e-12);
        loaded.Sparsity.ShouldBeGreaterThan(0);
        using var x = randn(3, 1, 28, 28);
        model.eval(); loaded.eval();
        loaded.call(x).IsSameAs(model.call(x)).ShouldBeTrue();
        model.MaskedLayers.Select(l => l.Name).ShouldBe(["features.conv1.weight", "features.conv2.weight", "classifier.fc1.weight", "classifier.fc2.weight", "classifier.out.weight"]);
        model.MaskedLayers[^1].IsOutputLayer.ShouldBeTrue();
    }

    [Trait("Category", "unit")]
    [Fact]
    public void A_stochastic_mask_is_redrawn_on_every_training_forward_pass_and_ignored_in_evaluation()
    {
        using var model = TestModels.SmallMlp(seed: 2);
        var layer = model.MaskedLayers[0];
        using var g = new Generator(5);
        int draws = 0;
        layer.StochasticMask = () => { draws++; return bernoulli(full(layer.weight.shape, 0.5), g); };
        using var x = randn(4, 1, 8, 8);
        model.train();
        using var y1 = model.call(x);
        using var y2 = model.call(x);
        draws.ShouldBe(2);
        y1.IsSameAs(y2).ShouldBeFalse();
        model.eval();
        using var e1 = model.call(x);
        using var e2 = model.call(x);
        draws.ShouldBe(2);
        e1.IsSameAs(e2).ShouldBeTrue();
    }
}
