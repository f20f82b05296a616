using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Experiments.Configuration;
using SubnetworkEnsembles.Experiments.Plugins;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// The pipeline of one experiment as three stages that communicate only through files in the run directory:
/// <b>parent</b> (train → parent.ckpt, parent.json, predictions/parent.npy; trust_region.json when a search is
/// configured), <b>child i</b> (load parent → sample ϕ (by sets) → perturb ξ → tune → children/child-i.{ckpt,json,npy}),
/// and <b>ensemble</b> (gather → model selection on the validation split → combine → results.json, predictions/*.npy).
/// A single-process run executes the same stages in order, so a distributed run gives exactly the same numbers.
/// Every random draw comes from <see cref="Seeds"/> keyed by the run seed and the child (or set) index.
/// </summary>
public sealed class ExperimentRunner(PluginFactory plugins, ILogger<ExperimentRunner> logger)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Where training steps are reported (a live display or periodic log lines); none by default.</summary>
    public IProgress<StepReport>? Progress { get; set; }

    /// <summary>Where tests inject faults (<see cref="Diagnostics.IFaultPoints"/>); none by default.</summary>
    public Diagnostics.IFaultPoints Faults { get; set; } = Diagnostics.NoFaultPoints.Instance;

    private Trainer NewTrainer() => new(logger)
    {
        Progress = Faults.Enabled
            ? step => { Progress?.Report(step); Faults.At(step.Label == "parent" ? "parent-step" : "child-step"); }
            : Progress is { } p ? p.Report : null,
    };

    /// <summary>
    /// Writes the report files of a finished run (before results.json, which marks the run finished) and returns the
    /// figures drawn; none when null.
    /// </summary>
    public Func<ExperimentConfig, DataSplits, RunDirectory, JsonObject, IReadOnlyList<string>>? Reporter { get; set; }

    /// <summary>Runs <paramref name="stage"/> (child <paramref name="index"/> for <see cref="Stage.Child"/>); returns results.json's content after the ensemble stage.</summary>
    public JsonObject? Run(Stage stage, int index, ExperimentConfig config, DataSplits data, Device device, RunDirectory run, double dataSeconds, CancellationToken cancellation)
    {
        if (config.Threads > 0) set_num_threads(config.Threads);
        if ((config.Children.Keep > 0 || config.Children.TrustRegion is not null) && data.Validation.Count == 0)
            throw new InvalidOperationException("model selection and the trust-region search score on the validation split: set data.validation > 0");
        data.MoveTo(device);
        switch (stage)
        {
            case Stage.Parent:
                RunParent(config, data, device, run, dataSeconds, cancellation);
                return null;
            case Stage.Child:
                if (ChildDoneEarlier(run, index)) logger.LogInformation("Child {Index}: done earlier", index);
                else RunChildTolerant(config, data, device, run, index, cancellation);
                return null;
            case Stage.Ensemble:
                return RunEnsemble(config, data, run);
            default:
                RunParent(config, data, device, run, dataSeconds, cancellation);
                for (int i = 0; i < config.Children.Count; i++)
                {
                    // Resuming: a finished child is a finished unit (so is one whose training diverged, unless fail_fast);
                    // an unfinished one is made again from its seeds.
                    if (ChildDoneEarlier(run, i)) logger.LogInformation("Child {Index}/{Count}: done earlier", i + 1, config.Children.Count);
                    else if (!config.FailFast && RunStatus.ChildDiverged(run, i)) logger.LogWarning("Child {Index}/{Count}: failed earlier (training diverged)", i + 1, config.Children.Count);
                    else RunChildTolerant(config, data, device, run, i, cancellation);
                }
                return RunEnsemble(config, data, run);
        }
    }

    /// <summary>Stage 1: trains and evaluates the parent; runs the trust-region search when configured.</summary>
    public void RunParent(ExperimentConfig config, DataSplits data, Device device, RunDirectory run, double dataSeconds, CancellationToken cancellation)
    {
        if (File.Exists(run.ParentResults))
        {
            if (RunFiles.ParentDamage(run) is not { } damage)
            {
                logger.LogInformation("Parent: done earlier ({File})", run.ParentResults);
                return;
            }
            logger.LogWarning("{Damage}; the parent stage is run again (deterministically, so nothing changes)", damage);
        }
        if (File.Exists(run.ParentResults))
            logger.LogWarning("{File} {Problem}; the parent stage is done again (it gives the same weights)", run.ParentCheckpoint,
                File.Exists(run.ParentCheckpoint + ".sha256") ? "fails its SHA-256 check (damaged or truncated)" : "is missing or has no checksum");
        var clock = Stopwatch.StartNew();
        logger.LogInformation("Data {Name}: {Train} train, {Validation} validation, {Test} test rows; device {Device}; {Threads} threads",
            data.Name, data.Train.Count, data.Validation.Count, data.Test.Count, device, get_num_threads());
        using var parent = config.Model.Build(data.InputShape, data.Classes, Seeds.Generator(config.Seed, "parent-init"));
        JsonObject? weights = null;
        if (config.Parent.Weights is { } file)
        {
            weights = ParentWeights.Load(parent, file, config.Parent.Rename);
            logger.LogInformation("Parent weights: {Tensors} tensors from the {Format} {Path}{Then}", weights["tensors"], weights["format"], file,
                config.Parent.Epochs > 0 ? $", then {config.Parent.Epochs} epochs of training" : " (used as it is)");
        }
        parent.to(device);
        logger.LogInformation("Parent {Model}: {Parameters:N0} parameters, {Layers} maskable weights", config.Model.Type, parent.ParameterCount, parent.MaskedLayers.Count);
        var history = config.Parent.Epochs == 0 ? [] : ChildBuilder.TrainStage(NewTrainer(), plugins, parent, data, config.Parent, "parent",
            Seeds.Derive(config.Seed, "parent-shuffle"), null, cancellation, new TrainingCheckpointFile(run.ParentTrainingState, logger, Faults));
        double trainSeconds = clock.Elapsed.TotalSeconds;
        using var probs = Evaluator.Probabilities(parent, data.Test.Inputs);
        using var labels = data.Test.Labels.cpu();
        var evaluation = Evaluation(config).Single(probs, labels);
        logger.LogInformation("Parent test: {Metrics}", ResultsJson.Format(evaluation.Values));
        var json = new JsonObject();
        ResultsJson.AddMetrics(json, evaluation.Values);
        json["train_rows"] = config.Parent.Rows(data.Train.Count);
        json["parameters"] = parent.ParameterCount;
        json["nonzero_parameters"] = parent.NonZeroParameterCount;
        json["history"] = ResultsJson.HistoryJson(history);
        if (weights is not null) json["weights"] = weights;
        if (config.McDropout > 0)
        {
            using var mcProbs = Evaluator.McDropoutProbabilities(parent, data.Test.Inputs, config.McDropout, Seeds.Derive(config.Seed, "mc-dropout"));
            var mc = Evaluation(config).Single(mcProbs, labels).Values;
            var mcJson = new JsonObject { ["samples"] = config.McDropout };
            ResultsJson.AddMetrics(mcJson, mc);
            json["mc_dropout"] = mcJson;
            logger.LogInformation("Parent with MC dropout ({Samples} passes) test: {Metrics}", config.McDropout, ResultsJson.Format(mc));
        }
        json["seconds"] = new JsonObject { ["data"] = dataSeconds, ["training"] = trainSeconds };

        if (config.Children.TrustRegion is not null)
        {
            var searchClock = Stopwatch.StartNew();
            var choice = TrustRegionSearch.Run(config, data, device, NewTrainer(), parent, plugins, logger, cancellation, Faults);
            choice.Report["seconds"] = searchClock.Elapsed.TotalSeconds;
            RunDirectory.WriteAllTextAtomic(run.TrustRegionFile, choice.Report.ToJsonString(Indented), Faults);
        }
        Directory.CreateDirectory(run.Combine("predictions"));
        NpyFile.WriteChecksummed(run.Combine("predictions", "parent.npy"), probs, Faults);
        RunDirectory.WriteCheckpoint(run.ParentCheckpoint, tmp => parent.save(tmp), Faults);
        RunDirectory.WriteAllTextAtomic(run.ParentResults, json.ToJsonString(Indented), Faults);   // last: marks the stage done
        File.Delete(run.ParentTrainingState);
    }

    /// <summary>
    /// Runs child <paramref name="index"/>; when its training diverges (NaN/Inf) and <c>fail_fast</c> is off, the failure
    /// is recorded (children/child-NNN.failed) and the run goes on: the ensemble is evaluated without it and says so.
    /// </summary>
    private void RunChildTolerant(ExperimentConfig config, DataSplits data, Device device, RunDirectory run, int index, CancellationToken cancellation)
    {
        try
        {
            RunChild(config, data, device, run, index, cancellation);
        }
        catch (TrainingDivergedException e) when (!config.FailFast)
        {
            logger.LogWarning("Child {Index}/{Count} failed: {Reason}. The other children continue and the ensemble is evaluated without it (fail_fast: false)",
                index + 1, config.Children.Count, e.Message);
        }
    }

    /// <summary>Stage 2: makes child <paramref name="index"/> from the saved parent; writes only its own files, atomically.</summary>
    public void RunChild(ExperimentConfig config, DataSplits data, Device device, RunDirectory run, int index, CancellationToken cancellation)
    {
        if (index < 0 || index >= config.Children.Count)
            throw new InvalidOperationException($"child index {index} is outside 0 … {config.Children.Count - 1} (children.count = {config.Children.Count})");
        File.Delete(run.ChildFailure(index));
        if (Faults.Enabled) Faults.At("child-start");
        try
        {
            // A child without its parent fails like any other (children/child-NNN.failed says why), in one line, exit 3.
            if (!File.Exists(run.ParentResults) || !File.Exists(run.ParentCheckpoint))
                throw new IncompleteRunException($"child {index} needs the parent: {run.ParentCheckpoint} is missing (run --stage parent first)");
            var clock = Stopwatch.StartNew();
            using var parent = RunDirectory.LoadModel(config.Model, data.InputShape, data.Classes, run.ParentCheckpoint);
            parent.to(device);
            using var previous = config.Children.Start == ChildStart.Previous && index > 0 ? PreviousChild(config, data, run, index) : null;
            previous?.to(device);
            var overrides = TrustRegionSearch.ChosenOverrides(config, run);
            var sampler = plugins.Create<ISubnetworkSampler>(config.Children.Sampler, overrides.Sampler);
            var perturbation = plugins.Create<IPerturbation>(config.Children.Perturbation, overrides.Perturbation);
            using var builder = new ChildBuilder(config, data, device, NewTrainer(), parent, plugins, sampler, perturbation);
            var (child, history) = builder.Build(index, tune: true, cancellation, previous);
            using (child)
            {
                // Training checks its own result; a child made by ξ alone (tuning: none) is checked here.
                foreach (var (name, p) in child.named_parameters())
                {
                    using var finite = p.isfinite().all();
                    if (!finite.ToBoolean())
                        throw new TrainingDivergedException($"child {index + 1}/{config.Children.Count}: parameter {name} is not finite after the perturbation " +
                            $"'{config.Children.Perturbation.Type}'; weaken it (e.g. a smaller sigma)");
                }
                var evaluation = Evaluation(config);
                using var probs = Evaluator.Probabilities(child, data.Test.Inputs);
                using var labels = data.Test.Labels.cpu();
                var values = evaluation.Single(probs, labels).Values;
                var member = new JsonObject
                {
                    ["index"] = index, ["set"] = index / sampler.SetSize,
                    ["start"] = config.Children.Start switch { ChildStart.Scratch => "scratch", ChildStart.Previous when index > 0 => $"child {index - 1}", _ => "parent" },
                    ["train_rows"] = config.Children.Tuning is { Epochs: > 0 } t ? t.Rows(data.Train.Count) : 0,
                };
                ResultsJson.AddMetrics(member, values);
                if (config.Children.Keep > 0)
                {
                    using var validationProbs = Evaluator.Probabilities(child, data.Validation.Inputs);
                    using var validationLabels = data.Validation.Labels.cpu();
                    var score = evaluation.Single(validationProbs, validationLabels).Values;
                    if (config.Children.SelectBy == SelectionMetric.Nll) member["validation_nll"] = score["nll"];
                    else member["validation_accuracy"] = score["accuracy"];
                }
                member["sparsity"] = child.Sparsity;
                member["nonzero_parameters"] = child.NonZeroParameterCount;
                member["seconds"] = clock.Elapsed.TotalSeconds;
                member["history"] = ResultsJson.HistoryJson(history);
                NpyFile.WriteChecksummed(run.ChildPredictions(index), probs, Faults);
                RunDirectory.WriteCheckpoint(run.ChildCheckpoint(index), tmp => child.save(tmp), Faults);
                if (Faults.Enabled) Faults.At("child-written");
                RunDirectory.WriteAllTextAtomic(run.ChildResults(index), member.ToJsonString(Indented), Faults);   // last: marks the child done
                if (Faults.Enabled) Faults.At("child-done");
                logger.LogInformation("Child {Index}/{Count} test: {Metrics}, sparsity {Sparsity:P1}, {Seconds:F1} s",
                    index + 1, config.Children.Count, ResultsJson.Format(values), child.Sparsity, clock.Elapsed.TotalSeconds);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            RunDirectory.WriteAllTextAtomic(run.ChildFailure(index), $"{e.GetType().Name}: {e.Message}\n", Faults);
            throw;
        }
    }

    /// <summary>Whether child <paramref name="index"/> finished earlier with intact files; a damaged child is reported, and made again.</summary>
    private bool ChildDoneEarlier(RunDirectory run, int index)
    {
        if (!File.Exists(run.ChildResults(index))) return false;
        if (RunFiles.ChildDamage(run, index) is not { } damage) return true;
        logger.LogWarning("{Damage}; child {Index} is made again (deterministically, so nothing changes)", damage, index);
        return false;
    }

    /// <summary>children.start: previous — child <paramref name="index"/> − 1, which must have finished.</summary>
    private static MaskedNetwork PreviousChild(ExperimentConfig config, DataSplits data, RunDirectory run, int index)
    {
        if (!RunStatus.ChildFinished(run, index - 1))
            throw new InvalidOperationException($"child {index} starts from child {index - 1} (children.start: previous), which has not finished" +
                (File.Exists(run.ChildFailure(index - 1)) ? $": {File.ReadAllText(run.ChildFailure(index - 1)).Trim()}" : " (run the children in order)"));
        return RunDirectory.LoadModel(config.Model, data.InputShape, data.Classes, run.ChildCheckpoint(index - 1));
    }

    /// <summary>Stage 3: gathers every child, selects, combines and evaluates; writes predictions and returns results.json's content.</summary>
    public JsonObject RunEnsemble(ExperimentConfig config, DataSplits data, RunDirectory run)
    {
        var clock = Stopwatch.StartNew();
        var status = RunStatus.Read(run, config.Children.Count);
        if (!status.ParentDone) throw new IncompleteRunException($"{run.Path}: the parent stage has not finished (no parent.json)");
        // Children whose training diverged are left out (unless fail_fast); any other failure or a missing child blocks the gather.
        bool Excludable(int i) => !config.FailFast && RunStatus.ChildDiverged(run, i);
        if (status.Missing.Count > 0 || status.Failed.Keys.Any(i => !Excludable(i)))
            throw new IncompleteRunException($"{run.Path}: cannot gather the ensemble: " + status.Describe());
        bool withParent = config.Children.IncludeParent;
        if (status.Done.Count == 0 && !withParent) throw new IncompleteRunException($"{run.Path}: every child failed, there is no ensemble: " + status.Describe());
        if (status.Failed.Count > 0)
            logger.LogWarning("The ensemble is evaluated without the failed {Which}: {Reasons}", status.Failed.Count == 1 ? "child" : "children", status.Describe());
        var parentJson = RunFiles.ReadParentResults(run);
        // Members in child order; selection ranks finished children only (failed ones are reported, never used).
        var done = status.Done;
        string scoreKey = config.Children.SelectBy == SelectionMetric.Nll ? "validation_nll" : "validation_accuracy";
        var memberJson = done.ToDictionary(i => i, i => RunFiles.ReadChildResults(run, i, config.Children.Keep > 0 ? scoreKey : null));
        double Score(int i) => config.Children.SelectBy == SelectionMetric.Nll ? memberJson[i][scoreKey]!.GetValue<double>() : -memberJson[i][scoreKey]!.GetValue<double>();
        var selected = config.Children.Keep > 0
            ? done.OrderBy(Score).ThenBy(i => i).Take(config.Children.Keep).Order().ToList()
            : done.ToList();
        foreach (var (i, m) in memberJson) m["selected"] = selected.Contains(i);
        var members = Enumerable.Range(0, config.Children.Count)
            .Select(i => memberJson.TryGetValue(i, out var m) ? m : new JsonObject { ["index"] = i, ["failed"] = status.Failed[i], ["selected"] = false })
            .ToList();

        // With include_parent the parent is member −1, first.
        var memberIndices = withParent ? selected.Prepend(-1).ToList() : selected;
        var probs = new List<Tensor>();
        try
        {
            foreach (int i in memberIndices)
                probs.Add(RunFiles.ReadProbabilities(i < 0 ? run.Combine("predictions", "parent.npy") : run.ChildPredictions(i), data.Test.Count, data.Classes));
            using var stacked = stack(probs, 0);
            using var labels = data.Test.Labels.cpu();
            var evaluation = Evaluation(config).Ensemble(stacked, labels);
            logger.LogInformation("Ensemble of {Count} test: {Metrics} (parent: {Parent})", memberIndices.Count, ResultsJson.Format(evaluation.Values),
                string.Join(", ", evaluation.Values.Keys.Where(k => parentJson[k] is not null).Select(k => $"{k} {parentJson[k]!.GetValue<double>():F4}")));
            if (config.SavePredictions)
            {
                NpyFile.WriteChecksummed(run.Combine("predictions", "members.npy"), stacked, Faults);
                NpyFile.WriteChecksummed(run.Combine("predictions", "labels.npy"), labels, Faults);
            }
            var ensembleJson = new JsonObject
            {
                ["combiner"] = config.Combiner.Type, ["members"] = memberIndices.Count, ["includes_parent"] = withParent,
                ["member_indices"] = new JsonArray(memberIndices.Select(i => (JsonNode)i).ToArray()),
            };
            ResultsJson.AddMetrics(ensembleJson, evaluation.Values);
            if (status.Failed.Count > 0) ensembleJson["excluded_failed"] = new JsonArray(status.Failed.Keys.Select(i => (JsonNode)i).ToArray());
            if (evaluation.Pairwise.Count > 0)
                ensembleJson["pairwise"] = new JsonObject(evaluation.Pairwise.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)ResultsJson.MatrixJson(kv.Value))));

            var parentSeconds = parentJson["seconds"]!.AsObject();
            parentJson.Remove("seconds");
            double childSeconds = members.Sum(m => m["seconds"]?.GetValue<double>() ?? 0);
            var results = new JsonObject
            {
                ["name"] = config.Name,
                ["method"] = config.Method,
                ["seed"] = config.Seed,
                ["data"] = new JsonObject { ["dataset"] = data.Name, ["train"] = data.Train.Count, ["validation"] = data.Validation.Count, ["test"] = data.Test.Count },
                ["parent"] = parentJson,
                ["members"] = new JsonArray(members.Select(m => (JsonNode)m).ToArray()),
                ["ensemble"] = ensembleJson,
            };
            double searchSeconds = 0;
            if (File.Exists(run.TrustRegionFile))
            {
                var report = TrustRegionSearch.ReadChoice(run);
                searchSeconds = report["seconds"]?.GetValue<double>() ?? 0;
                report.Remove("seconds");
                results["trust_region"] = report;
            }
            var memberObjects = members.Where(m => m["failed"] is null).ToList();
            var ensembleMembers = selected.Select(i => memberJson[i]).ToList();
            if (withParent) ensembleMembers.Insert(0, parentJson);
            results["cost"] = RunCosts.Of(config, data, parentJson, memberObjects, ensembleMembers);
            if (config.Corruptions is { } corruptions)
                results["corrupted"] = CorruptedEvaluation.Run(corruptions, config, data, run, memberIndices, Evaluation(config), logger);
            double data_ = parentSeconds["data"]!.GetValue<double>(), parentTraining = parentSeconds["training"]!.GetValue<double>();
            results["seconds"] = new JsonObject
            {
                ["data"] = data_, ["parent"] = parentTraining, ["trust_region"] = searchSeconds, ["children"] = childSeconds,
                ["ensemble"] = clock.Elapsed.TotalSeconds, ["total"] = data_ + parentTraining + searchSeconds + childSeconds + clock.Elapsed.TotalSeconds,
            };
            results["threads"] = get_num_threads();
            results["versions"] = new JsonObject
            {
                ["sne"] = typeof(ExperimentRunner).Assembly.GetName().Version?.ToString(),
                ["torchsharp"] = typeof(torch).Assembly.GetName().Version?.ToString(),
                ["abstractions"] = typeof(PluginAttribute).Assembly.GetName().Version?.ToString(),
            };
            // The report first, results.json last: its presence means everything of the run is written.
            WriteReport(config, data, run, results);
            RunDirectory.WriteAllTextAtomic(run.ResultsFile, results.ToJsonString(Indented), Faults);
            return results;
        }
        finally
        {
            foreach (var p in probs) p.Dispose();
        }
    }

    /// <summary>
    /// Writes report.md, report.html, report/*.png, metrics.jsonl and tensorboard/ from the finished run. A failure here
    /// is logged and leaves results.json (already complete) alone; <c>sne report RUN_DIR</c> can redo it.
    /// </summary>
    public void WriteReport(ExperimentConfig config, DataSplits data, RunDirectory run, JsonObject results)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            if (Reporter is null) return;
            var figures = Reporter(config, data, run, results);
            logger.LogInformation("Report: {Report} ({Figures}: {Names}; {Seconds:F1} s)", run.Combine("report.html"), figures.Count,
                string.Join(", ", figures), clock.Elapsed.TotalSeconds);
        }
        catch (Exception e) when (e is not (OperationCanceledException or IOException))
        {
            logger.LogWarning("The report could not be written ({Error}); results.json is complete. Retry with: sne report {Directory}", e.Message, run.Path);
        }
    }

    private MemberEvaluation Evaluation(ExperimentConfig config) =>
        new(config.Metrics.Select(m => (m.Type, plugins.Create<IMetric>(m))).ToList(), plugins.Create<IEnsembleCombiner>(config.Combiner));
}
