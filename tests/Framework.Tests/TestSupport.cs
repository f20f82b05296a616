using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Experiments.Pipeline;
using SubnetworkEnsembles.Experiments.Plugins;
using SubnetworkEnsembles.Testing;
using Xunit;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace SubnetworkEnsembles.Tests;

/// <summary>Paths of the repository and of the built sne.</summary>
public static class Repo
{
#if DEBUG
    public const string Configuration = "Debug";
#else
    public const string Configuration = "Release";
#endif

    public static string Root { get; } = FindRoot();

    public static string SneDll => Path.Combine(Root, "artifacts", "bin", Configuration, "sne", "sne.dll");

    public static string SneDirectory => Path.GetDirectoryName(SneDll)!;

    public static string PluginsDirectory => Path.Combine(Root, "artifacts", "bin", Configuration, "plugins");

    public static string Example(string name) => Path.Combine(Root, "examples", name);

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Framework.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Framework.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>The result of running the real sne executable.</summary>
public sealed record SneResult(int ExitCode, string Stdout, string Stderr)
{
    public string Output => Stdout + Stderr;
}

/// <summary>Runs the built sne in a child process, as a user would.</summary>
public static class Sne
{
    public static SneResult Run(params string[] args) => RunIn(Repo.Root, null, args);

    public static SneResult RunIn(string workingDirectory, string? sneDll, params string[] args) => RunWith(workingDirectory, sneDll, null, args);

    public static SneResult RunWithEnvironment(IReadOnlyDictionary<string, string> environment, params string[] args) => RunWith(Repo.Root, null, environment, args);

    private static SneResult RunWith(string workingDirectory, string? sneDll, IReadOnlyDictionary<string, string>? environment, string[] args)
    {
        // A test run started as a background job of a non-interactive shell inherits SIGINT as ignored, and .NET keeps an
        // ignored SIGINT ignored: restore the default dispositions so the SIGINT fault tests see what a user's Ctrl+C does.
        var start = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        if (environment is not null) foreach (var (k, v) in environment) start.Environment[k] = v;
        start.ArgumentList.Add("--default-signal=INT,QUIT");
        start.ArgumentList.Add("dotnet");
        start.ArgumentList.Add(sneDll ?? Repo.SneDll);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("sne " + string.Join(' ', args) + " did not finish in 10 minutes");
        }
        return new SneResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    public static JsonObject Results(string runDirectory) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(runDirectory, "results.json")))!.AsObject();

    /// <summary>results.json without wall times (which legitimately differ between runs), as canonical text.</summary>
    public static string DeterministicResults(string runDirectory)
    {
        var copy = Results(runDirectory);
        copy.Remove("seconds");
        foreach (var m in copy["members"]!.AsArray())
        {
            m!.AsObject().Remove("seconds");
            if (m["failed"] is null) StripSeconds(m["history"]);   // a failed child has a reason instead of a history
        }
        StripSeconds(copy["parent"]!["history"]);
        return copy.ToJsonString();
    }

    private static void StripSeconds(JsonNode? history)
    {
        foreach (var e in history!.AsArray()) e!.AsObject().Remove("seconds");
    }
}

/// <summary>Builds a plugin (or library) project from source, outside the solution, as a third party would.</summary>
public static class PluginProject
{
    /// <summary>
    /// Writes <paramref name="source"/> as project <paramref name="name"/> under <paramref name="root"/>/src and builds it
    /// into <paramref name="root"/>/plugins/<paramref name="name"/>. A plugin references the contracts and TorchSharp's
    /// managed API by path without copying them (the host shares its own); <paramref name="references"/> are other
    /// projects built here before.
    /// </summary>
    public static string Build(string root, string name, string source, bool plugin = true, IReadOnlyList<string>? references = null, string version = "1.0.0")
    {
        string project = Path.Combine(root, "src", name);
        string output = Path.Combine(root, "plugins", name);
        Directory.CreateDirectory(project);
        File.WriteAllText(Path.Combine(project, name + ".cs"), source);
        string refs = string.Concat((references ?? []).Select(r => $"<Reference Include=\"{Path.Combine(root, "plugins", r, r + ".dll")}\" />"));
        string contracts = plugin
            ? $"<Reference Include=\"{Path.Combine(Repo.SneDirectory, "SubnetworkEnsembles.Abstractions.dll")}\" Private=\"false\" />" +
              $"<Reference Include=\"{Path.Combine(Repo.SneDirectory, "TorchSharp.dll")}\" Private=\"false\" />"
            : "";
        // Isolated from the repository's Directory.Build.props by living in a temporary folder.
        File.WriteAllText(Path.Combine(project, name + ".csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <EnableDynamicLoading>true</EnableDynamicLoading>
                <Version>{version}</Version>
                <OutputPath>{output}/</OutputPath>
                <AppendTargetFrameworkToOutputPath>false</AppendTargetFrameworkToOutputPath>
              </PropertyGroup>
              <ItemGroup>{contracts}{refs}</ItemGroup>
            </Project>
            """);
        var build = new ProcessStartInfo("dotnet", ["build", project, "-nologo", "-v", "q"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(build)!;
        string log = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        p.ExitCode.ShouldBe(0, log);
        return output;
    }
}

/// <summary>A temporary directory removed at dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "sne-tests-" + Guid.NewGuid().ToString("N")[..8]);

    public string File(string name, string text)
    {
        string p = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllText(p, text);
        return p;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Small models for unit tests.</summary>
public static class TestModels
{
    public static MaskedNetwork SmallMlp(long seed = 1) => Mlp([1, 8, 8], [32, 16], 5, seed);

    /// <summary>A maskable MLP initialised from a generator seeded with <paramref name="seed"/> (which it owns), with dropout <paramref name="dropout"/>.</summary>
    public static MaskedNetwork Mlp(long[] shape, int[] hidden, int classes, long seed = 1, double dropout = 0)
    {
        var generator = new TorchSharp.torch.Generator((ulong)seed);
        return new MaskedNetwork(new Mlp(shape, hidden, classes, dropout, generator), shape, classes, generator);
    }

    /// <summary>A maskable LeNet-5 initialised from a generator seeded with <paramref name="seed"/> (which it owns).</summary>
    public static MaskedNetwork LeNet(LeNetSize size, long[] shape, int classes, long seed = 1, double dropout = 0)
    {
        var generator = new TorchSharp.torch.Generator((ulong)seed);
        return new MaskedNetwork(new LeNet5(size, shape, classes, dropout, generator), shape, classes, generator);
    }

    /// <summary>The spirals example's MLP (2 → 64 → 64 → 64 → 2) loaded from a run's checkpoint (weights and masks; either format).</summary>
    public static MaskedNetwork SpiralsMlp(string checkpoint)
    {
        var model = Mlp([2], [64, 64, 64], 2);
        SubnetworkEnsembles.Experiments.Pipeline.SparseCheckpoint.Load(model, checkpoint);
        return model;
    }

    /// <summary>A perturbation context for child <paramref name="child"/> of a set (both generators given).</summary>
    public static PerturbationContext Context(TorchSharp.torch.Generator g, int child = 0, int set = 0, int member = 0, int setSize = 1, TorchSharp.torch.Generator? shared = null) =>
        new(child, set, member, setSize, 0, g, shared ?? g);
}

/// <summary>Tensor comparisons for assertions.</summary>
public static class TensorAssertions
{
    /// <summary>Same shape and exactly the same values.</summary>
    public static bool IsSameAs(this TorchSharp.torch.Tensor a, TorchSharp.torch.Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape)) return false;
        using var eq = a.eq(b);
        using var all = eq.all();
        return TorchSharp.TensorExtensionMethods.ToBoolean(all);
    }
}

/// <summary>Reads the .npy files sne writes (format 1.0, C order), checking the header.</summary>
public static class NpyReader
{
    private static (long[] Shape, byte[] Data) ReadNpy(string path, string descr)
    {
        var bytes = File.ReadAllBytes(path);
        bytes[..6].ShouldBe(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y' });
        int headerLength = BitConverter.ToUInt16(bytes, 8);
        ((10 + headerLength) % 64).ShouldBe(0);
        string header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        header.ShouldContain($"'descr': '{descr}'");
        header.ShouldContain("'fortran_order': False");
        string dims = header[(header.IndexOf("'shape': (", StringComparison.Ordinal) + 10)..];
        dims = dims[..dims.IndexOf(')')];
        var shape = dims.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
        return (shape, bytes[(10 + headerLength)..]);
    }

    public static (long[] Shape, float[] Data) ReadFloat(string path)
    {
        var (shape, data) = ReadNpy(path, "<f4");
        var values = new float[data.Length / 4];
        Buffer.BlockCopy(data, 0, values, 0, data.Length);
        values.Length.ShouldBe((int)shape.Aggregate(1L, (a, b) => a * b));
        return (shape, values);
    }

    public static (long[] Shape, long[] Data) ReadLong(string path)
    {
        var (shape, data) = ReadNpy(path, "<i8");
        var values = new long[data.Length / 8];
        Buffer.BlockCopy(data, 0, values, 0, data.Length);
        return (shape, values);
    }
}

/// <summary>The small spirals experiment the promise tests run: examples/spirals.yaml made quick (a few seconds a run).</summary>
public static class QuickSpirals
{
    /// <summary>One thread, a 5-epoch parent (36 steps an epoch), 2 children tuned 2 epochs each.</summary>
    public static readonly string[] Overrides =
        ["--set", "threads=1", "--set", "parent.epochs=5", "--set", "children.tuning.epochs=2", "--set", "children.count=2"];

    /// <summary><c>sne run examples/spirals.yaml --out RUN</c> with <see cref="Overrides"/>, more overrides and an optional <c>SNE_FAULT</c>.</summary>
    public static SneResult Run(string run, string? fault = null, params string[] more) =>
        Sne.RunWithEnvironment(fault is null ? new Dictionary<string, string>() : new() { ["SNE_FAULT"] = fault },
            ["run", Repo.Example("spirals.yaml"), "--out", run, .. Overrides, .. more]);
}

/// <summary>What a finished run wrote, compared between two runs.</summary>
public static class RunOutputs
{
    /// <summary>metrics.jsonl with the wall-time field ("seconds") of every record removed, one canonical line per record.</summary>
    public static string DeterministicMetricsLog(string runDirectory) =>
        string.Join('\n', File.ReadAllLines(Path.Combine(runDirectory, "metrics.jsonl")).Where(l => l.Length > 0).Select(line =>
        {
            var record = JsonNode.Parse(line)!.AsObject();
            record.Remove("seconds");
            return record.ToJsonString();
        }));

    /// <summary>
    /// <paramref name="run"/> wrote what <paramref name="reference"/> wrote: results.json and metrics.jsonl equal but for
    /// wall times, and every predictions/*.npy equal byte for byte (the same files in both).
    /// </summary>
    public static void ShouldMatch(string run, string reference)
    {
        Sne.DeterministicResults(run).ShouldBe(Sne.DeterministicResults(reference), "results.json (wall times aside)");
        DeterministicMetricsLog(run).ShouldBe(DeterministicMetricsLog(reference), "metrics.jsonl (wall times aside)");
        var expected = Directory.GetFiles(Path.Combine(reference, "predictions"), "*.npy").Select(Path.GetFileName).Order().ToList();
        expected.ShouldNotBeEmpty();
        Directory.GetFiles(Path.Combine(run, "predictions"), "*.npy").Select(Path.GetFileName).Order().ShouldBe(expected);
        foreach (var file in expected)
            File.ReadAllBytes(Path.Combine(run, "predictions", file!)).SequenceEqual(File.ReadAllBytes(Path.Combine(reference, "predictions", file!)))
                .ShouldBeTrue($"predictions/{file} differs from the uninterrupted run's");
    }

    /// <summary>Copies a run directory (to grow or damage a copy while the original stays the reference).</summary>
    public static string Copy(string source, string target)
    {
        foreach (var dir in Directory.GetDirectories(source, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(target, Path.GetRelativePath(source, dir)));
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(target, Path.GetRelativePath(source, file)));
        return target;
    }

    /// <summary>Flips one byte in the middle of <paramref name="file"/>.</summary>
    public static void Damage(string file)
    {
        var bytes = File.ReadAllBytes(file);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(file, bytes);
    }
}

/// <summary>The built-in plugins in process, and data loaded through them as the pipeline does.</summary>
public static class TestData
{
    /// <summary>A catalog of every built-in plugin assembly.</summary>
    public static PluginCatalog Catalog() => new PluginCatalog()
        .RegisterAssemblyOf<SubnetworkEnsembles.Samplers.PartitionSampler>().RegisterAssemblyOf<SubnetworkEnsembles.Perturbations.PrunePerturbation>()
        .RegisterAssemblyOf<SubnetworkEnsembles.Optimizers.AdamOptimizer>().RegisterAssemblyOf<SubnetworkEnsembles.Metrics.AccuracyMetric>()
        .RegisterAssemblyOf<SubnetworkEnsembles.Combiners.MeanCombiner>().RegisterAssemblyOf<MlpModel>()
        .RegisterAssemblyOf<SubnetworkEnsembles.Datasets.SpiralsDataset>().RegisterAssemblyOf<SubnetworkEnsembles.Analyses.SmoothGradAnalysis>();

    /// <summary>A plugin factory over <see cref="Catalog"/>.</summary>
    public static PluginFactory Plugins()
    {
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        Microsoft.Extensions.DependencyInjection.LoggingServiceCollectionExtensions.AddLogging(services);
        services.AddSubnetworkPlugins(Catalog());
        return Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<PluginFactory>(
            Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(services));
    }

    /// <summary>The resolved configuration of a run directory (its config.yaml, plugins resolved against <see cref="Catalog"/>).</summary>
    public static ExperimentConfig RunConfig(string run)
    {
        var (_, config, binder) = SubnetworkEnsembles.Host.Configuration.ExperimentLoader.Read(Path.Combine(run, "config.yaml"), [], environment: new Dictionary<string, string>());
        SubnetworkEnsembles.Host.Configuration.ExperimentLoader.Resolve(config, binder, Catalog());
        return config;
    }

    /// <summary>Loads and prepares <paramref name="config"/> (validation carved, subsets, normalised).</summary>
    public static DataSplits Load(DataConfig config) => ExperimentData.Load(Plugins(), config, Environment.CurrentDirectory);

    /// <summary>Fashion-MNIST from the Debian files.</summary>
    public static DataConfig Fashion(int validation = 5000, int trainSubset = 0, int testSubset = 0) =>
        new() { Dataset = Spec("fashion-mnist", new SubnetworkEnsembles.Datasets.FashionMnistDatasetOptions()), Validation = validation, TrainSubset = trainSubset, TestSubset = testSubset };

    /// <summary>The spirals of examples/spirals.yaml by default.</summary>
    public static DataConfig Spirals(int points = 2500, int testPoints = 250, int validation = 250, double noise = 1.0) =>
        new() { Dataset = Spec("spirals", new SubnetworkEnsembles.Datasets.SpiralsDatasetOptions { Points = points, TestPoints = testPoints, Noise = noise }), Validation = validation };

    private static PluginSpec Spec(string name, object options) => new() { Type = name, Kind = SubnetworkEnsembles.Abstractions.PluginKind.Dataset, BoundOptions = options };
}

/// <summary>Tests read in-memory rows as tensors.</summary>
public static class DataRowsTensors
{
    extension(DataRows rows)
    {
        /// <summary>The inputs of rows held in memory, float32 [N, …].</summary>
        public TorchSharp.torch.Tensor Inputs => ((InMemoryDataset)rows).Inputs;
    }
}

/// <summary>The test kit's analysis context (<see cref="AnalysisContract.Context"/>) writing figures into its own temporary directory; disposes both.</summary>
public sealed class AnalysisScratch : IDisposable
{
    private readonly TempDir _directory = new();
    private readonly IDisposable _fixture;

    public AnalysisScratch() => (Context, _fixture) = AnalysisContract.Context(_directory.Path);

    public AnalysisContext Context { get; }

    /// <summary>Where the analysis writes its figures.</summary>
    public string FigureDirectory => _directory.Path;

    public void Dispose()
    {
        _fixture.Dispose();
        _directory.Dispose();
    }
}
