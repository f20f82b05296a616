using System.Collections;
using System.Diagnostics;
using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Experiments.Plugins;
using TorchSharp.PyBridge;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// The torchvision model plugin as the host loads it (from its plugin folder, through the catalog): its folder carries
/// TorchVision.dll, it builds any known architecture with PyTorch's state-dict keys, and a state_dict written by
/// Debian's PyTorch loads into it and gives PyTorch's logits.
/// </summary>
[Trait("Category", "unit")]
public sealed class TorchVisionModelTests(ITestOutputHelper output)
{
    private static string PluginFolder => Path.Combine(Repo.PluginsDirectory, "SubnetworkEnsembles.Models.TorchVision");

    private static string ReferenceScript => Path.Combine(Repo.Root, "tests", "Framework.Tests", "Fixtures", "torchvision", "make_reference.py");

    private static readonly Lazy<PluginDescriptor> Descriptor = new(() =>
        PluginCatalog.Discover([PluginFolder]).Find(PluginKind.Model, "torchvision") ?? throw new InvalidOperationException("no torchvision plugin found"));

    private static IValidatableOptions Options(string architecture)
    {
        var options = Activator.CreateInstance(Descriptor.Value.OptionsType!)!;
        options.GetType().GetProperty("Architecture")!.SetValue(options, architecture);
        return (IValidatableOptions)options;
    }

    private static nn.Module<Tensor, Tensor> Build(string architecture, long[] shape, int classes = 10, ulong seed = 1)
    {
        var options = Options(architecture);
        options.Validate().ShouldBeEmpty();
        var factory = (IModelFactory)Activator.CreateInstance(Descriptor.Value.ImplementationType, options)!;
        return factory.Build(new ModelContext(shape, classes, new Generator(seed)));
    }

    [Fact]
    public void The_plugin_folder_carries_torchvision_but_not_torchsharp_and_the_catalog_finds_the_plugin()
    {
        File.Exists(Path.Combine(PluginFolder, "TorchVision.dll")).ShouldBeTrue();
        File.Exists(Path.Combine(PluginFolder, "TorchSharp.dll")).ShouldBeFalse();
        Descriptor.Value.Kind.ShouldBe(PluginKind.Model);
        Path.GetDirectoryName(Descriptor.Value.AssemblyPath).ShouldBe(PluginFolder);
    }

    [Fact]
    public void Resnet18_through_the_catalog_has_torchvision_keys_and_the_dataset_class_count()
    {
        using var model = Build("resnet18", [3, 32, 32], classes: 7);
        var keys = model.state_dict().Keys.ToList();
        keys.ShouldContain("conv1.weight");
        keys.ShouldContain("layer4.1.bn2.running_var");
        keys.ShouldContain("fc.weight");
        model.state_dict()["fc.weight"].shape.ShouldBe([7L, 512L]);
        model.eval();
        using var x = randn(2, 3, 32, 32);
        using var y = model.call(x);
        y.shape.ShouldBe([2L, 7L]);
        // Kaiming-normal fan_out from the generator: layer4 convs 512·3·3 → std √(2/4608) ≈ 0.0208.
        model.state_dict()["layer4.1.conv2.weight"].std().item<float>().ShouldBe((float)Math.Sqrt(2.0 / 4608), 0.0005);
        using var again = Build("resnet18", [3, 32, 32], classes: 7);
        again.state_dict()["layer2.0.conv1.weight"].IsSameAs(model.state_dict()["layer2.0.conv1.weight"]).ShouldBeTrue();
    }

    [Theory]
    [InlineData("resnet18")]
    [InlineData("mobilenet_v2")]
    public void Every_linear_and_conv_of_torchvision_is_reached_through_call_so_host_hooks_see_it(string architecture)
    {
        using var model = Build(architecture, [3, 32, 32]);
        var layers = model.named_modules().Where(m => m.module is TorchSharp.Modules.Conv2d or TorchSharp.Modules.Linear).ToList();
        var reached = new HashSet<string>();
        var hooks = layers.Select(l => ((nn.Module<Tensor, Tensor>)l.module).register_forward_hook((_, _, y) => { reached.Add(l.name); return y; })).ToList();
        model.eval();
        using (var x = randn(1, 3, 32, 32)) using (var y = model.call(x)) { }
        foreach (var h in hooks) h.remove();
        layers.Count.ShouldBeGreaterThan(10);
        layers.Select(l => l.name).Except(reached).ShouldBeEmpty();
    }

    [Fact]
    public void Grey_images_are_repeated_to_three_channels_and_other_channel_counts_get_an_input_adapter()
    {
        using var grey = Build("resnet18", [1, 28, 28]);
        grey.state_dict().Keys.ShouldNotContain(k => k.StartsWith("input_adapter", StringComparison.Ordinal));
        grey.state_dict().Keys.ShouldContain("conv1.weight");
        grey.eval();
        using var g = randn(2, 1, 28, 28);
        using var repeated = g.expand(-1, 3, -1, -1).contiguous();
        using var viaGrey = grey.call(g);
        using var state = Build("resnet18", [3, 28, 28]);
        foreach (var (key, value) in grey.state_dict()) state.state_dict()[key].IsSameAs(value).ShouldBeTrue(key);
        state.eval();
        using var viaRgb = state.call(repeated);
        viaGrey.allclose(viaRgb, rtol: 1e-5, atol: 1e-6).ShouldBeTrue();

        using var four = Build("resnet18", [4, 32, 32], classes: 3);
        four.state_dict()["input_adapter.weight"].shape.ShouldBe([3L, 4L, 1L, 1L]);
        four.state_dict().Keys.ShouldContain("layer1.0.conv1.weight");
        four.eval();
        using var x = randn(2, 4, 32, 32);
        using var y = four.call(x);
        y.shape.ShouldBe([2L, 3L]);
        four.train();
        four.modules().ShouldAllBe(m => m.training);
    }

    [Fact]
    public void Unknown_architectures_and_inputs_too_small_are_refused_clearly()
    {
        var problems = Options("resnet19").Validate().ToList();
        problems.Single().ShouldStartWith("architecture: must be one of ");
        problems.Single().ShouldContain("resnet18, resnet34");
        problems.Single().ShouldContain("mobilenet_v2");
        problems.Single().ShouldEndWith("got 'resnet19'");
        var options = Options("inception_v3");
        var factory = (IModelFactory)Activator.CreateInstance(Descriptor.Value.ImplementationType, options)!;
        Should.Throw<ArgumentException>(() => factory.Build(new ModelContext([3, 32, 32], 10, new Generator(1))))
            .Message.ShouldContain("torchvision inception_v3 cannot take input [3, 32, 32]");
        Should.Throw<ArgumentException>(() => factory.Build(new ModelContext([784], 10, new Generator(1)))).Message.ShouldContain("[784]");
    }

    /// <summary>The PyTorch references of both architectures, made once per test run into a temporary folder (null: no PyTorch here).</summary>
    private static readonly Lazy<(string? Folder, string Python, TimeSpan Took)> References = new(() =>
    {
        string python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        if (!Runs(python, "-c", "import torch, torchvision").Ok) return (null, python, TimeSpan.Zero);
        string folder = Path.Combine(Path.GetTempPath(), "sne-tests-torchvision-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(folder, recursive: true); } catch (IOException) { } };
        var watch = Stopwatch.StartNew();
        var (ok, log) = Runs(python, ReferenceScript, folder, "resnet18", "mobilenet_v2");
        if (!ok) throw new InvalidOperationException($"{ReferenceScript} failed: {log}");
        return (folder, python, watch.Elapsed);
    });

    [SkippableTheory]
    [InlineData("resnet18")]
    [InlineData("mobilenet_v2")]
    public void A_pytorch_state_dict_loads_with_the_same_keys_and_gives_pytorchs_logits(string architecture)
    {
        var (folder, python, took) = References.Value;
        Skip.If(folder is null, $"{python} cannot import torch and torchvision: install Debian's python3-torch python3-torchvision (./sne test does)");
        output.WriteLine($"PyTorch references (resnet18, mobilenet_v2): {took.TotalSeconds:F1} s");

        using var model = Build(architecture, [3, 64, 64]);
        var pytorchKeys = File.ReadAllLines(Path.Combine(folder, architecture + "-keys.txt")).Where(l => l.Length > 0).ToList();
        model.state_dict().Keys.Order(StringComparer.Ordinal).ShouldBe(pytorchKeys.Order(StringComparer.Ordinal));
        model.load_py(Path.Combine(folder, architecture + ".pt"), strict: true);

        var reference = PyTorchUnpickler.UnpickleStateDict(Path.Combine(folder, architecture + "-reference.pt")).Cast<DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (Tensor)e.Value!);
        model.eval();
        using var _ = no_grad();
        using var logits = model.call(reference["input"]);
        using var difference = (logits - reference["logits"]).abs().max();
        output.WriteLine($"{architecture}: max |TorchSharp − PyTorch| = {difference.item<float>():E2}");
        reference["logits"].abs().max().item<float>().ShouldBeGreaterThan(1e-2f);   // not a trivially zero output
        difference.item<float>().ShouldBeLessThan(1e-4f);
    }

    private static (bool Ok, string Log) Runs(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        try
        {
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            string stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode == 0, stdout.Result + stderr);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (false, e.Message);
        }
    }
}
