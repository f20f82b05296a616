using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Experiments.Configuration;
using SubnetworkEnsembles.Experiments.Plugins;
using SubnetworkEnsembles.Experiments.Results;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// Stage 2: makes child i from the saved parent (load parent → sample ϕ (by sets) → perturb ξ → tune) and writes only
/// its own files, atomically: children/child-NNN.{npy,ckpt}, then child-NNN.json, which marks the child done.
/// </summary>
internal sealed class ChildStage(PluginFactory plugins, ILogger logger, Func<Trainer> newTrainer, Func<Diagnostics.IFaultPoints> faults)
{
    /// <summary>
    /// Runs child <paramref name="index"/>; when its training diverges (NaN/Inf) and <c>fail_fast</c> is off, the failure
    /// is recorded (children/child-NNN.failed) and the run goes on: the ensemble is evaluated without it and says so.
    /// </summary>
    public void RunTolerant(ExperimentConfig config, DataSplits data, Device device, RunDirectory run, int index, CancellationToken cancellation)
    {
        try
        {
            Run(config, data, device, run, index, cancellation);
        }
        catch (TrainingDivergedException e) when (!config.FailFast)
        {
            logger.LogWarning("Child {Index}/{Count} failed: {Reason}. The other children continue and the ensemble is evaluated without it (fail_fast: false)",
                index + 1, config.Children.Count, e.Message);
        }
    }

    /// <summary>Makes child <paramref name="index"/>; a failure is recorded in children/child-NNN.failed and rethrown.</summary>
    public void Run(ExperimentConfig config, DataSplits data, Device device, RunDirectory run, int index, CancellationToken cancellation)
    {
        if (index < 0 || index >= config.Children.Count)
            throw new InvalidOperationException($"child index {index} is outside 0 … {config.Children.Count - 1} (children.count = {config.Children.Count})");
        File.Delete(run.ChildFailure(index));
        if (faults().Enabled) faults().At("child-start");
        try
        {
            // A child without its parent fails like any other (children/child-NNN.failed says why), in one line, exit 3.
            if (!File.Exists(run.ParentResults) || !File.Exists(run.ParentCheckpoint))
                throw new IncompleteRunException($"child {index} needs the parent: {run.ParentCheckpoint} is missing (run --stage parent first)");
            var clock = Stopwatch.StartNew();
            using var parent = RunDirectory.LoadModel(plugins, config.Model, data.InputShape, data.Classes, run.ParentCheckpoint);
            parent.to(device);
            using var previous = config.Children.Start == ChildStart.Previous && index > 0 ? PreviousChild(config, data, run, index) : null;
            previous?.to(device);
            var overrides = TrustRegionSearch.ChosenOverrides(config, run);
            var sampler = plugins.Create<ISubnetworkSampler>(config.Children.Sampler, overrides.Sampler);
            var perturbation = plugins.Create<IPerturbation>(config.Children.Perturbation, overrides.Perturbation);
            using var builder = new ChildBuilder(config, data, device, newTrainer(), parent, plugins, sampler, perturbation);
            var built = builder.Build(index, tune: true, cancellation, previous, Carry(config, run, index), compact: config.Children.Compact == ChildCompaction.Auto);
            var (child, training) = built;
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
                var evaluation = MemberEvaluation.Configured(config, plugins);
                using var probs = Evaluator.Probabilities(child, data.Test);
                using var labels = data.Test.Labels.cpu();
                var values = new MetricValues(evaluation.OfOneModel(probs, labels).Values);
                double? validationNll = null, validationAccuracy = null;
                if (config.Children.Keep > 0)
                {
                    // Selection's rows: the validation split less a separate trust-region holdout (ValidationRoles).
                    var selectionRows = ValidationRoles.SelectionRows(config, data.Validation);
                    try
                    {
                        using var validationProbs = Evaluator.Probabilities(child, selectionRows);
                        using var validationLabels = selectionRows.Labels.cpu();
                        var score = new MetricValues(evaluation.OfOneModel(validationProbs, validationLabels).Values);
                        validationNll = score.Find("nll");
                        validationAccuracy = score.Find("accuracy");
                    }
                    finally
                    {
                        if (!ReferenceEquals(selectionRows, data.Validation)) selectionRows.Dispose();
                    }
                }
                var member = new MemberResult
                {
                    Index = index, Set = index / sampler.SetSize,
                    Start = config.Children.Start switch { ChildStart.Scratch => "scratch", ChildStart.Previous when index > 0 => $"child {index - 1}", _ => "parent" },
                    TrainRows = config.Children.TuningOf(index) is { Epochs: > 0 } t ? t.Rows(data.Train.Count) : 0,
                    Metrics = values,
                    ValidationNll = validationNll, ValidationAccuracy = validationAccuracy,
                    Sparsity = built.Sparsity,
                    NonzeroParameters = child.NonZeroParameterCount,
                    ForwardFlops = FlopCounter.ForwardFlops(child),
                    TuningForwardFlops = training.History.Count == 0 ? null
                        : built.Compaction is { Plan: not null, When: "before tuning" } ? FlopCounter.ForwardFlops(child) : FlopCounter.ForwardFlops(parent),
                    Compaction = Describe(built.Compaction),
                    Seconds = clock.Elapsed.TotalSeconds,
                    History = training.History.Select(TrainingEpoch.From).ToList(),
                    EarlyStopping = EarlyStoppingResult.From(config.Children.TuningOf(index)?.EarlyStopping, training.EarlyStopping),
                };
                NpyFile.WriteChecksummed(run.ChildPredictions(index), probs, faults());
                RunDirectory.WriteCheckpoint(run.ChildCheckpoint(index), tmp => SparseCheckpoint.Save(child, built.Compaction?.Plan, tmp), faults());
                if (faults().Enabled) faults().At("child-written");
                member.Write(run.ChildResults(index), faults());   // last: marks the child done
                if (faults().Enabled) faults().At("child-done");
                logger.LogInformation("Child {Index}/{Count} test: {Metrics}, sparsity {Sparsity:P1}{Compact}, {Seconds:F1} s",
                    index + 1, config.Children.Count, values.ToString(), built.Sparsity,
                    built.Compaction?.Plan is null ? "" : $", compact ({member.ForwardFlops / (double)FlopCounter.ForwardFlops(parent):P0} of the parent's FLOPs)", clock.Elapsed.TotalSeconds);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            RunDirectory.WriteAllTextAtomic(run.ChildFailure(index), $"{e.GetType().Name}: {e.Message}\n", faults());
            throw;
        }
    }

    /// <summary>results.json's record of what children.compact did (null when it is off).</summary>
    private static CompactionResult? Describe(ChildCompactionReport? report) => report is null ? null : new CompactionResult
    {
        Compact = report.Plan is not null,
        When = report.When,
        Layers = report.Plan?.KeptUnits.ToDictionary(kv => kv.Key, kv => new[] { kv.Value.LongLength, report.Plan.DenseUnits[kv.Key] }),
        KeptDense = report.KeptDense.Count == 0 ? null : report.KeptDense,
        MaxLogitDifference = report.Plan is null ? null : report.MaxLogitDifference,
    };

    /// <summary>Whether child <paramref name="index"/> finished earlier with intact files; a damaged child is reported, and made again.</summary>
    public bool DoneEarlier(RunDirectory run, int index)
    {
        if (!File.Exists(run.ChildResults(index))) return false;
        if (RunFiles.ChildDamage(run, index) is not { } damage) return true;
        logger.LogWarning("{Damage}; child {Index} is made again (deterministically, so nothing changes)", damage, index);
        return false;
    }

    /// <summary>
    /// children.carry_optimizer_state: child <paramref name="index"/> continues its predecessor's optimiser state (child 0
    /// the parent's, when the parent saved one) and saves its own for the next; null when states are not carried.
    /// </summary>
    private OptimizerCarry? Carry(ExperimentConfig config, RunDirectory run, int index)
    {
        if (!OptimizerStateFile.Carried(config)) return null;
        string? from = OptimizerStateFile.Of(run, index - 1);
        if (index == 0 && !OptimizerStateFile.CarriedFromParent(config)) from = null;
        else if (!File.Exists(from))
        {
            if (index > 0) throw new IncompleteRunException($"child {index} continues child {index - 1}'s optimiser state (children.carry_optimizer_state), but {from} is missing: make child {index - 1} again");
            logger.LogWarning("{File} is missing (a parent trained by an older sne): child 0 starts with a fresh optimiser", from);
            from = null;
        }
        string own = OptimizerStateFile.Of(run, index);
        return new OptimizerCarry(from, o => OptimizerStateFile.Save(own, o, faults()));
    }

    /// <summary>children.start: previous — child <paramref name="index"/> − 1, which must have finished.</summary>
    private MaskedNetwork PreviousChild(ExperimentConfig config, DataSplits data, RunDirectory run, int index)
    {
        if (!RunStatus.ChildFinished(run, index - 1))
            throw new InvalidOperationException($"child {index} starts from child {index - 1} (children.start: previous), which has not finished" +
                (File.Exists(run.ChildFailure(index - 1)) ? $": {File.ReadAllText(run.ChildFailure(index - 1)).Trim()}" : " (run the children in order)"));
        return RunDirectory.LoadModel(plugins, config.Model, data.InputShape, data.Classes, run.ChildCheckpoint(index - 1), dense: true);
    }
}
