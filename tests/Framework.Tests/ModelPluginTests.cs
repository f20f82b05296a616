using Shouldly;
using SubnetworkEnsembles.Abstractions;
using TorchSharp.Modules;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>The built-in model plugins resnet, wide-resnet and vgg: shapes, parameter counts, keys, initialisation, bad input.</summary>
[Trait("Category", "unit")]
public sealed class ModelPluginTests(ITestOutputHelper output)
{
    private static ModelContext Context(long[] shape, int classes = 10, long seed = 1)
    {
        var generator = new Generator((ulong)seed);
        return new ModelContext(shape, classes, generator);
    }

    private static long Parameters(nn.Module model) => model.parameters().Sum(p => p.numel());

    private static long[] LogitsShape(nn.Module<Tensor, Tensor> model, long[] inputShape)
    {
        model.eval();
        using var _ = no_grad();
        using var x = randn([2, .. inputShape]);
        using var y = model.call(x);
        return y.shape;
    }

    [Theory]
    [InlineData(20, 272_474)]
    [InlineData(32, 466_906)]
    [InlineData(56, 855_770)]
    [InlineData(110, 1_730_714)]
    public void Resnet_has_the_parameter_count_of_its_depth(int depth, long expected)
    {
        using var model = new ResNetModel(new ResNetOptions { Depth = depth }).Build(Context([3, 32, 32]));
        long count = Parameters(model);
        output.WriteLine($"ResNet-{depth}, 10 classes: {count:N0} parameters");
        count.ShouldBe(expected);
    }

    [Theory]
    [InlineData(1, 28, 28)]
    [InlineData(3, 32, 32)]
    [InlineData(2, 9, 13)]
    public void Resnet_gives_logits_for_any_image_shape(long c, long h, long w)
    {
        using var model = new ResNetModel(new ResNetOptions()).Build(Context([c, h, w], classes: 7));
        LogitsShape(model, [c, h, w]).ShouldBe([2L, 7L]);
    }

    [Fact]
    public void Resnet_state_dict_keys_are_torchvision_names_with_projection_shortcuts_where_the_shape_changes()
    {
        using var model = new ResNetModel(new ResNetOptions { Depth = 20 }).Build(Context([3, 32, 32]));
        var keys = model.state_dict().Keys.ToHashSet();
        keys.ShouldContain("conv1.weight");
        keys.ShouldContain("bn1.running_mean");
        keys.ShouldContain("layer1.2.conv2.weight");
        keys.ShouldContain("layer2.0.downsample.0.weight");
        keys.ShouldContain("layer3.0.downsample.1.running_var");
        keys.ShouldContain("fc.weight");
        keys.ShouldNotContain("layer1.0.downsample.0.weight");
        keys.ShouldNotContain("layer2.1.downsample.0.weight");
        keys.ShouldNotContain("layer4.0.conv1.weight");
    }

    [Fact]
    public void Initialisation_comes_from_the_context_generator_with_kaiming_fan_out_and_unit_batchnorm()
    {
        using var a = new ResNetModel(new ResNetOptions()).Build(Context([3, 32, 32], seed: 5));
        using var b = new ResNetModel(new ResNetOptions()).Build(Context([3, 32, 32], seed: 5));
        using var c = new ResNetModel(new ResNetOptions()).Build(Context([3, 32, 32], seed: 6));
        var (sa, sb, sc) = (a.state_dict(), b.state_dict(), c.state_dict());
        foreach (var key in sa.Keys) sa[key].IsSameAs(sb[key]).ShouldBeTrue(key);
        sa["layer3.1.conv2.weight"].IsSameAs(sc["layer3.1.conv2.weight"]).ShouldBeFalse();
        // layer3 convs: 64·3·3 fan_out → std √(2/576) ≈ 0.0589 over 36 864 draws.
        double std = sa["layer3.1.conv2.weight"].std().item<float>();
        std.ShouldBe(Math.Sqrt(2.0 / 576), 0.002);
        sa["bn1.weight"].IsSameAs(ones(16)).ShouldBeTrue();
        sa["bn1.bias"].IsSameAs(zeros(16)).ShouldBeTrue();
    }

    [Theory]
    [InlineData(16, 4, 2_748_890)]
    [InlineData(28, 10, 36_479_194)]
    public void Wide_resnet_has_the_parameter_count_of_the_paper(int depth, int width, long expected)
    {
        using var model = new WideResNetModel(new WideResNetOptions { Depth = depth, Width = width }).Build(Context([3, 32, 32]));
        long count = Parameters(model);
        output.WriteLine($"WRN-{depth}-{width}, 10 classes: {count:N0} parameters");
        count.ShouldBe(expected);
    }

    [Fact]
    public void Wide_resnet_has_the_reference_keys_and_dropout_drawn_from_the_generator_only_in_training()
    {
        var options = new WideResNetOptions { Depth = 10, Width = 1, Dropout = 0.5 };
        using var model = new WideResNetModel(options).Build(Context([1, 8, 8], classes: 3));
        var keys = model.state_dict().Keys.ToHashSet();
        keys.ShouldContain("block1.layer.0.conv1.weight");
        keys.ShouldContain("block2.layer.0.convShortcut.weight");
        keys.ShouldNotContain("block1.layer.0.convShortcut.weight");   // 16 → 16·1 channels, stride 1: identity shortcut
        keys.ShouldContain("bn1.running_var");
        keys.ShouldContain("fc.bias");
        model.modules().OfType<GeneratorDropout>().Count().ShouldBe(3);

        using var x = randn(4, 1, 8, 8);
        model.train();
        using var t1 = model.call(x);
        using var t2 = model.call(x);
        t1.allclose(t2).ShouldBeFalse();   // fresh dropout masks
        model.eval();
        using var e1 = model.call(x);
        using var e2 = model.call(x);
        e1.IsSameAs(e2).ShouldBeTrue();
        e1.shape.ShouldBe([4L, 3L]);
    }

    [Theory]
    [InlineData(11, 9_231_114)]
    [InlineData(16, 14_728_266)]
    public void Vgg_has_the_cifar_parameter_count(int depth, long expected)
    {
        using var model = new VggModel(new VggOptions { Depth = depth }).Build(Context([3, 32, 32]));
        long count = Parameters(model);
        output.WriteLine($"VGG-{depth} (BN), 10 classes: {count:N0} parameters");
        count.ShouldBe(expected);
    }

    [Fact]
    public void Vgg_takes_28x28_by_skipping_the_pool_below_1x1_and_keeps_torchvision_indices()
    {
        using var model = new VggModel(new VggOptions { Depth = 11 }).Build(Context([1, 28, 28]));
        LogitsShape(model, [1, 28, 28]).ShouldBe([2L, 10L]);
        var children = model.named_modules().ToDictionary(m => m.name, m => m.module);
        children["features.0"].ShouldBeOfType<Conv2d>();
        children["features.1"].ShouldBeOfType<BatchNorm2d>();
        children["features.3"].ShouldBeOfType<MaxPool2d>();
        children["features.28"].ShouldBeOfType<Identity>();   // the fifth pool: 1×1 already
        using var cifar = new VggModel(new VggOptions { Depth = 11 }).Build(Context([3, 32, 32]));
        cifar.named_modules().Single(m => m.name == "features.28").module.ShouldBeOfType<MaxPool2d>();
        model.state_dict().Keys.ShouldContain("classifier.weight");
    }

    [Fact]
    public void Every_linear_and_conv_is_reached_through_call_so_host_hooks_see_it()
    {
        nn.Module<Tensor, Tensor>[] models =
        [
            new ResNetModel(new ResNetOptions()).Build(Context([3, 16, 16])),
            new WideResNetModel(new WideResNetOptions { Depth = 10, Width = 1, Dropout = 0.1 }).Build(Context([3, 16, 16])),
            new VggModel(new VggOptions { Depth = 11 }).Build(Context([3, 16, 16])),
        ];
        foreach (var model in models)
        {
            var reached = new HashSet<string>();
            var layers = model.named_modules().Where(m => m.module is Conv2d or Linear).ToList();
            var hooks = layers.Select(l => ((nn.Module<Tensor, Tensor>)l.module).register_forward_hook((_, _, y) => { reached.Add(l.name); return y; })).ToList();
            using (var x = randn(2, 3, 16, 16)) using (var y = model.call(x)) { }
            foreach (var h in hooks) h.remove();
            reached.Count.ShouldBe(layers.Count, $"{model.GetName()}: not reached: {string.Join(", ", layers.Select(l => l.name).Except(reached))}");
            model.Dispose();
        }
    }

    [Fact]
    public void A_shape_that_is_not_an_image_is_refused_naming_the_shape()
    {
        Should.Throw<ArgumentException>(() => new ResNetModel(new ResNetOptions()).Build(Context([784]))).Message.ShouldContain("[784]");
        Should.Throw<ArgumentException>(() => new WideResNetModel(new WideResNetOptions()).Build(Context([3, 0, 32]))).Message.ShouldContain("[3, 0, 32]");
        Should.Throw<ArgumentException>(() => new VggModel(new VggOptions()).Build(Context([28, 28]))).Message.ShouldContain("[C, H, W]");
    }

    [Fact]
    public void Options_report_bad_values_by_their_yaml_keys()
    {
        new ResNetOptions { Depth = 20 }.Validate().ShouldBeEmpty();
        new ResNetOptions { Depth = 18 }.Validate().Single().ShouldStartWith("depth: must be 6n + 2");
        new WideResNetOptions { Depth = 28, Width = 10, Dropout = 0.3 }.Validate().ShouldBeEmpty();
        new WideResNetOptions { Depth = 27, Width = 0, Dropout = 1 }.Validate().Select(m => m.Split(':')[0]).ShouldBe(["depth", "width", "dropout"]);
        new VggOptions { Depth = 16 }.Validate().ShouldBeEmpty();
        new VggOptions { Depth = 12 }.Validate().Single().ShouldBe("depth: must be one of 11, 13, 16, 19, got 12");
    }
}
