using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Experiments.Plugins;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>The built dataset plugin folder loads through the host's catalog (own load context) and its plugins work from there.</summary>
[Trait("Category", "unit")]
public sealed class DatasetPluginDiscoveryTests
{
    private static readonly string Folder = Path.Combine(Repo.PluginsDirectory, "SubnetworkEnsembles.Datasets");

    private static IDatasetSource Create(PluginCatalog catalog, string name, Action<dynamic> configure)
    {
        var descriptor = catalog.Find(PluginKind.Dataset, name).ShouldNotBeNull();
        dynamic options = Activator.CreateInstance(descriptor.OptionsType!)!;
        configure(options);
        ((IValidatableOptions)options).Validate().ShouldBeEmpty();
        return (IDatasetSource)Activator.CreateInstance(descriptor.ImplementationType, [options])!;
    }

    [Fact]
    public void The_plugin_folder_holds_its_own_libraries_but_not_torchsharp_and_registers_every_dataset()
    {
        File.Exists(Path.Combine(Folder, "SubnetworkEnsembles.Datasets.dll")).ShouldBeTrue();
        File.Exists(Path.Combine(Folder, "SkiaSharp.dll")).ShouldBeTrue();
        File.Exists(Path.Combine(Folder, "runtimes", "linux-x64", "native", "libSkiaSharp.so")).ShouldBeTrue();
        Directory.GetFiles(Folder, "TorchSharp*", SearchOption.AllDirectories).ShouldBeEmpty();
        Directory.GetFiles(Folder, "SubnetworkEnsembles.Abstractions*").ShouldBeEmpty();

        var catalog = PluginCatalog.Discover([Folder]);
        catalog.NamesOf(PluginKind.Dataset).ShouldBe(["csv", "fashion-mnist", "idx", "image-folder", "npy", "spirals"]);
        catalog.All.ShouldAllBe(d => d.Kind == PluginKind.Dataset && d.Description.Length > 0);
    }

    [Fact]
    public void Csv_and_image_folder_datasets_load_through_the_discovered_plugin()
    {
        using var dir = new TempDir();
        dir.File("t.csv", "a,b,label\n1,2,x\n3,4,y\n");
        foreach (var cls in new[] { "c0", "c1" })
            foreach (var split in new[] { "train", "test" })
                DatasetFiles.GreyPng(Path.Combine(dir.Path, "img", split, cls, "0.png"), 2, 2, (y, x) => (byte)(cls == "c0" ? 51 : 102));
        var catalog = PluginCatalog.Discover([Folder]);
        var context = new DatasetContext(0, dir.Path, 0);

        using var table = Create(catalog, "csv", o => { o.Path = "t.csv"; o.TestPath = "t.csv"; }).Load(context);
        table.ClassNames.ShouldBe(["x", "y"]);
        using (var rows = arange(2L))
        using (var x = table.Test.Read(rows))
            x.data<float>().ToArray().ShouldBe([1f, 2f, 3f, 4f]);

        using var images = Create(catalog, "image-folder", o => o.Directory = "img").Load(context);
        images.InputShape.ShouldBe([1L, 2L, 2L]);
        using var second = tensor(new long[] { 1 });
        using var pixels = images.Train.Read(second);
        pixels.data<float>().ToArray().ShouldBe([0.4f, 0.4f, 0.4f, 0.4f]);
    }
}
