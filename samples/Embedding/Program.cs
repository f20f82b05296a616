// examples/spirals.yaml in C# (the usings are in the .csproj), plus one metric of this program registered in process.
var adam = PluginSpec.Named("adam");
var config = new ExperimentConfig
{
    Name = "spirals",
    Data = new DataConfig { Dataset = PluginSpec.Named("spirals", new SpiralsDatasetOptions { Points = 2500, TestPoints = 250, Noise = 1.0 }), Validation = 250 },
    Model = PluginSpec.Named("mlp", new MlpOptions { Hidden = [64, 64, 64] }),
    Parent = new ParentConfig { Epochs = 20, BatchSize = 64, Optimizer = adam, Schedule = PluginSpec.Named("constant", new ConstantScheduleOptions { Lr = 0.003 }) },
    Children = new ChildrenConfig
    {
        Count = 4, Sampler = PluginSpec.Named("partition", new PartitionSamplerOptions { K = 2 }), Perturbation = PluginSpec.Named("prune"),
        Tuning = new TrainingConfig
        {
            Epochs = 10, BatchSize = 64, Optimizer = adam, Schedule = PluginSpec.Named("one-cycle",
            new OneCycleScheduleOptions { LrInit = 0.0003, LrMax = 0.01, LrMin = 1.0e-6, Warmup = 0.1 })
        },
    },
    Metrics = [PluginSpec.Named("accuracy"), PluginSpec.Named("nll"), PluginSpec.Named("ece", new EceMetricOptions { Bins = 15 }), PluginSpec.Named("entropy")],
};
var catalog = new PluginCatalog().RegisterAssemblyOf<PartitionSampler>().RegisterAssemblyOf<PrunePerturbation>().RegisterAssemblyOf<AdamOptimizer>()
    .RegisterAssemblyOf<AccuracyMetric>().RegisterAssemblyOf<MeanCombiner>().RegisterAssemblyOf<MlpModel>().RegisterAssemblyOf<SpiralsDataset>()
    .Register<MeanEntropy>();
var results = await Experiment.FromConfig(config).WithPlugins(catalog).RunAsync(args.Length > 0 ? args[0] : "runs/embedding");
Console.WriteLine(string.Join(' ', results.Ensemble.Metrics.Select(m => FormattableString.Invariant($"{m.Key} {m.Value:R}"))));
