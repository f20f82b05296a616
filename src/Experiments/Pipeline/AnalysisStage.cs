using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Experiments.Configuration;
using SubnetworkEnsembles.Experiments.Plugins;
using SubnetworkEnsembles.Experiments.Results;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// Runs the configured analyses (<c>analyses:</c>, <see cref="IAnalysis"/>) on a finished run: the parent and the
/// ensemble's members are loaded from their checkpoints (eval mode, on the data's device) with their saved test
/// probabilities; each analysis gets its own generator, seeded from (run seed, "analysis/NAME"), and writes its figures
/// into a staging folder; only when every analysis has succeeded does each staging folder replace analyses/NAME/ of the
/// run directory (atomically, one folder at a time), so a failing analysis leaves every earlier figure as it was.
/// An analysis that throws is a <see cref="PluginCallException"/> naming it (exit 3).
/// </summary>
public static class AnalysisStage
{
    /// <summary>
    /// Runs every analysis of <paramref name="config"/> on the run; <paramref name="ensembleMembers"/> are the ensemble's
    /// member indices as results.json lists them (−1 = the parent). Returns one result per analysis, in order.
    /// </summary>
    public static IReadOnlyList<AnalysisResult> Run(PluginFactory plugins, ExperimentConfig config, DataSplits data, RunDirectory run,
        IReadOnlyList<int> ensembleMembers, ILogger logger)
    {
        if (config.Analyses.Count == 0) return [];
        var device = data.Test.Device;
        var members = new List<AnalysisMember>();
        try
        {
            foreach (int index in ensembleMembers.Where(i => i >= 0).Prepend(-1))
            {
                var network = RunDirectory.LoadModel(plugins, config.Model, data.InputShape, data.Classes, run.MemberCheckpoint(index), dense: true);
                network.to(device);
                network.eval();
                string predictions = index < 0 ? run.Combine("predictions", "parent.npy") : run.ChildPredictions(index);
                members.Add(new AnalysisMember(index < 0 ? "parent" : $"child {index}", index, network,
                    RunFiles.ReadProbabilities(predictions, data.Test.Count, data.Classes)));
            }
            using var labels = data.Test.Labels.cpu();
            Directory.CreateDirectory(run.Combine("analyses"));
            var done = new List<(AnalysisResult Result, string Staging)>();
            try
            {
                foreach (var spec in config.Analyses) done.Add(RunOne(plugins, spec, config, data, run, members, labels, logger));
                foreach (var (result, staging) in done)
                    RunDirectory.WriteDirectoryAtomic(run.Combine("analyses", result.Name), target =>
                    {
                        foreach (var file in Directory.GetFiles(staging)) File.Move(file, Path.Combine(target, Path.GetFileName(file)));
                    });
                return done.Select(d => d.Result).ToList();
            }
            finally
            {
                foreach (var (_, staging) in done.Where(d => Directory.Exists(d.Staging))) Directory.Delete(staging, recursive: true);
            }
        }
        finally
        {
            foreach (var m in members)
            {
                m.Network.Dispose();
                m.TestProbabilities.Dispose();
            }
        }
    }

    /// <summary>
    /// <paramref name="earlier"/> (results.json's analyses, or null) with every analysis of <paramref name="fresh"/> put in:
    /// an analysis run again replaces its earlier entry in place, a new one is appended.
    /// </summary>
    public static IReadOnlyList<AnalysisResult> Merge(IReadOnlyList<AnalysisResult>? earlier, IReadOnlyList<AnalysisResult> fresh)
    {
        var merged = (earlier ?? []).Select(e => fresh.FirstOrDefault(f => f.Name == e.Name) ?? e).ToList();
        merged.AddRange(fresh.Where(f => merged.All(m => m.Name != f.Name)));
        return merged;
    }

    /// <summary>Runs one analysis with its figures in a new staging folder (deleted again when it fails); returns its result and that folder.</summary>
    private static (AnalysisResult Result, string Staging) RunOne(PluginFactory plugins, PluginSpec spec, ExperimentConfig config, DataSplits data, RunDirectory run,
        IReadOnlyList<AnalysisMember> members, Tensor labels, ILogger logger)
    {
        var clock = Stopwatch.StartNew();
        var analysis = plugins.Create<IAnalysis>(spec);
        string staging = run.Combine("analyses", $".{spec.Type}.staging-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(staging);
        AnalysisOutput output;
        try
        {
            using var generator = Seeds.Generator(config.Seed, "analysis/" + spec.Type);
            var context = new AnalysisContext
            {
                Members = members, InputShape = data.InputShape, Classes = data.Classes, Device = data.Test.Device,
                TestRows = data.Test.Count, TestLabels = labels, ReadTestRows = rows => Read(data.Test, rows),
                TrainingRows = data.Train.Count, ReadTrainingRows = rows => Read(data.Train, rows),
                BuildUntunedChild = i => UntunedChild(plugins, config, data, run, i, logger),
                Generator = generator, RunSeed = config.Seed, FigureDirectory = staging,
                Log = line => logger.LogInformation("Analysis {Name}: {Line}", spec.Type, line),
            };
            output = plugins.Call(spec, nameof(IAnalysis.Run), () => analysis.Run(context));
            Check(plugins, spec, output, staging);
        }
        catch
        {
            Directory.Delete(staging, recursive: true);
            throw;
        }
        finally
        {
            (analysis as IDisposable)?.Dispose();
        }
        var result = new AnalysisResult
        {
            Name = spec.Type,
            Scalars = new Dictionary<string, double>(output.Scalars),
            Tables = output.Tables.Select(t => new AnalysisTableResult { Name = t.Name, Caption = t.Caption, Rows = t.RowLabels, Columns = t.ColumnLabels, Values = t.Values }).ToList(),
            Figures = output.Figures.Select(f => new AnalysisFigureResult { File = $"analyses/{spec.Type}/{f.File}", Caption = f.Caption }).ToList(),
            Seconds = clock.Elapsed.TotalSeconds,
        };
        logger.LogInformation("Analysis {Name}: {Scalars} scalars, {Tables} tables ({TableNames}), {Figures} figures ({Seconds:F1} s)", spec.Type,
            result.Scalars.Count, result.Tables.Count, string.Join(", ", result.Tables.Select(t => t.Name)), result.Figures.Count, result.Seconds);
        return (result, staging);
    }

    /// <summary>Refuses an output whose tables do not match their labels or whose figures were not written (the plugin's mistake).</summary>
    private static void Check(PluginFactory plugins, PluginSpec spec, AnalysisOutput output, string folder)
    {
        string? problem = null;
        foreach (var t in output.Tables)
            if (t.Values.Length != t.RowLabels.Count || t.Values.Any(r => r.Length != t.ColumnLabels.Count))
                problem ??= $"table '{t.Name}' is not {t.RowLabels.Count} rows × {t.ColumnLabels.Count} columns as its labels say";
        if (output.Tables.Select(t => t.Name).Distinct().Count() != output.Tables.Count) problem ??= "two tables have the same name";
        foreach (var f in output.Figures)
            if (f.File.IndexOfAny(['/', '\\']) >= 0 || !File.Exists(Path.Combine(folder, f.File)))
                problem ??= $"figure '{f.File}' was not written into the figure directory";
        if (problem is not null)
            throw new PluginCallException($"{plugins.Describe(spec)} returned a bad result from Run: {problem}", new InvalidOperationException(problem));
    }

    private static LabeledBatch Read(DataRows split, long[] rows)
    {
        foreach (long r in rows)
            if (r < 0 || r >= split.Count) throw new ArgumentOutOfRangeException(nameof(rows), r, $"row {r} is outside 0 … {split.Count - 1}");
        using var indices = tensor(rows, dtype: ScalarType.Int64);
        using var onDevice = indices.to(split.Device);
        return new LabeledBatch(split.Read(indices), split.Labels.index_select(0, onDevice));
    }

    /// <summary>Child <paramref name="index"/> regenerated from its seeds after ϕ and ξ, before tuning (see <see cref="ChildBuilder.Build"/>), in eval mode.</summary>
    private static nn.Module<Tensor, Tensor> UntunedChild(PluginFactory plugins, ExperimentConfig config, DataSplits data, RunDirectory run, int index, ILogger logger)
    {
        var device = data.Test.Device;
        using var parent = RunDirectory.LoadModel(plugins, config.Model, data.InputShape, data.Classes, run.ParentCheckpoint);
        parent.to(device);
        using var previous = config.Children.Start == ChildStart.Previous && index > 0
            ? RunDirectory.LoadModel(plugins, config.Model, data.InputShape, data.Classes, run.ChildCheckpoint(index - 1), dense: true) : null;
        previous?.to(device);
        var overrides = TrustRegionSearch.ChosenOverrides(config, run);
        var sampler = plugins.Create<ISubnetworkSampler>(config.Children.Sampler, overrides.Sampler);
        var perturbation = plugins.Create<IPerturbation>(config.Children.Perturbation, overrides.Perturbation);
        using var builder = new ChildBuilder(config, data, device, new Trainer(logger), parent, plugins, sampler, perturbation);
        var (child, _) = builder.Build(index, tune: false, CancellationToken.None, previous);
        child.eval();
        return child;
    }
}
