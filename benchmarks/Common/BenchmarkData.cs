using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Datasets;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Experiments.Configuration;
using SubnetworkEnsembles.Experiments.Pipeline;
using SubnetworkEnsembles.Experiments.Plugins;

namespace SubnetworkEnsembles.Benchmarks;

/// <summary>What every benchmark program shares: Fashion-MNIST loaded as a run loads it, and the median of timings.</summary>
internal static class BenchmarkData
{
    /// <summary>Fashion-MNIST (55 000 training rows after the default 5 000 validation rows, 10 000 test rows), normalised, in memory.</summary>
    public static DataSplits FashionMnist()
    {
        var services = new ServiceCollection().AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance).AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        services.AddSubnetworkPlugins(new PluginCatalog().RegisterAssemblyOf<FashionMnistDataset>());
        var plugins = services.BuildServiceProvider().GetRequiredService<PluginFactory>();
        return ExperimentData.Load(plugins, new DataConfig
        {
            Dataset = new() { Type = "fashion-mnist", Kind = PluginKind.Dataset, BoundOptions = new FashionMnistDatasetOptions() },
        }, Environment.CurrentDirectory);
    }

    /// <summary>The median of <paramref name="xs"/> (the mean of the two middle values for an even count).</summary>
    public static double Median(List<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }
}
