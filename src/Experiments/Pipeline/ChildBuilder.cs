using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
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
/// Makes children from a trained parent: child i is member i mod SetSize of ϕ-set i / SetSize (the set drawn with a
/// generator seeded from (seed, stream, set)), copied from the parent, perturbed by ξ with generators seeded from
/// (seed, stream, child) and (seed, stream, set), then tuned with its own batch order. Everything about child i
/// depends only on (config, seed, stream, i), so any child can be regenerated alone.
/// </summary>
public sealed class ChildBuilder(ExperimentConfig config, DataSplits data, Device device, Trainer trainer, MaskedNetwork parent,
    PluginFactory plugins, ISubnetworkSampler sampler, IPerturbation perturbation, string stream = "") : IDisposable
{
    private readonly Regex[] _maskable = config.Children.Maskable.Select(Glob).ToArray();
    private IReadOnlyList<ChildMask>? _set;
    private int _setIndex = -1;

    /// <summary>The weights of <paramref name="model"/> that ϕ and ξ act on (name patterns and the output-layer switch).</summary>
    public IReadOnlyList<IMaskableWeight> Maskable(MaskedNetwork model) =>
        model.MaskableWeights.Where(w => (config.Children.MaskOutputLayer || !w.IsOutputLayer) && _maskable.Any(r => r.IsMatch(w.Name))).ToList();

    /// <summary>
    /// Builds child <paramref name="index"/>, tuned when <paramref name="tune"/> and a tuning stage is configured. It starts
    /// from <paramref name="start"/> (children.start: previous — the previous child), else from the parent, or, with
    /// children.start: scratch, from a fresh initialisation seeded by (seed, stream, index). <paramref name="carry"/>: the
    /// optimiser state it continues and where its own goes (children.carry_optimizer_state).
    /// </summary>
    /// <remarks>
    /// With <paramref name="compact"/> (children.compact: auto) a child whose masks remove whole units is returned
    /// physically smaller (<see cref="StructuredCompaction"/>): before tuning when its masks cannot change during tuning,
    /// else after it; <see cref="BuiltChild.Compaction"/> says what was done and why not.
    /// </remarks>
    public BuiltChild Build(int index, bool tune, CancellationToken cancellation, MaskedNetwork? start = null, OptimizerCarry? carry = null, bool compact = false)
    {
        int setSize = sampler.SetSize;
        int s = index / setSize;
        if (s != _setIndex)
        {
            DisposeSet();
            using var generator = Seeds.Generator(config.Seed, stream + "sampler-set", s);
            _set = SampleSet(s, generator);
            _setIndex = s;
        }
        bool scratch = config.Children.Start == ChildStart.Scratch;
        var child = plugins.Build(config.Model, data.InputShape, data.Classes, Seeds.Generator(config.Seed, stream + "child-init", index));
        try
        {
            child.to(device);
            if (!scratch) child.CopyFrom(start ?? parent);
            var weights = Maskable(child);
            var access = new NetworkAccess(child, weights, data.Train, data.Validation);
            using (var deviceMask = new ChildMask(_set![index % setSize].Masks.ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float32, device))))
            using (var own = Seeds.Generator(config.Seed, stream + "perturbation", index))
            using (var shared = Seeds.Generator(config.Seed, stream + "perturbation-set", s))
            {
                plugins.Call(config.Children.Perturbation, nameof(IPerturbation.Apply),
                    () => perturbation.Apply(weights, deviceMask, new PerturbationContext(index, s, index % setSize, setSize, config.Seed, own, shared) { Network = access }));
            }
            var training = new TrainingOutcome([], null);
            ChildCompactionReport? compaction = null;
            bool tunes = tune && config.Children.TuningOf(index) is { Epochs: > 0 };
            // Not with start: previous (the next child starts from this one: removed units must stay trainable, so it is
            // stored at the parent's shape) and, for a network with BatchNorm, only at the end: tuning and re-estimating
            // change what a removed channel's BatchNorm outputs, so its constant is folded once the statistics are final.
            compact = compact && config.Children.Start != ChildStart.Previous;
            if (compact && !child.HasBatchNorm && (!tunes || MasksFixedDuringTuning(weights, carry)))
            {
                (child, compaction) = Compacted(child, index, tunes ? "before tuning" : "untuned");
                weights = Maskable(child);
            }
            if (tunes && config.Children.TuningOf(index) is { } tuning)
            {
                var spec = config.Children.Perturbation;
                // Hooks the perturbation does not implement are not passed: without them frozen masks need no W ⊙ M product.
                training = TrainStage(trainer, plugins, child, data, tuning, $"child {index + 1}/{config.Children.Count}",
                    Seeds.Derive(config.Seed, stream + "child-shuffle", index),
                    Implements(perturbation, nameof(IPerturbation.OnTuningStep)) ? p => plugins.Call(spec, nameof(IPerturbation.OnTuningStep), () => perturbation.OnTuningStep(weights, p)) : null,
                    cancellation, validation: Validation(config, plugins, data, tuning, "children.tuning"),
                    afterStep: Implements(perturbation, nameof(IPerturbation.AfterTuningStep)) ? p => plugins.Call(spec, nameof(IPerturbation.AfterTuningStep), () => perturbation.AfterTuningStep(weights, p)) : null,
                    carry: carry);
            }
            if (config.Children.ReestimateBatchNorm && child.HasBatchNorm)
                ReestimateBatchNorm(child, Seeds.Derive(config.Seed, stream + "batchnorm", index));
            if (compact && compaction is null && carry is null)
                (child, compaction) = Compacted(child, index, tunes ? "after tuning" : "untuned");
            foreach (var w in weights) w.StochasticMask = null;   // evaluation always uses the target mask
            return new BuiltChild(child, training, compaction, compaction?.Plan is null ? child.Sparsity : compaction.DenseSparsity);
        }
        catch
        {
            child.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Whether a child's masks stay as ξ left them through tuning, so it can be tuned compact: no stochastic masks, a
    /// perturbation that does not implement the tuning-step hooks, and no optimiser state carried between children of
    /// different shapes.
    /// </summary>
    private bool MasksFixedDuringTuning(IReadOnlyList<IMaskableWeight> weights, OptimizerCarry? carry) =>
        carry is null && weights.All(w => w.StochasticMask is null)
        && !Implements(perturbation, nameof(IPerturbation.OnTuningStep)) && !Implements(perturbation, nameof(IPerturbation.AfterTuningStep));

    private static bool Implements(IPerturbation plugin, string method)
    {
        var map = plugin.GetType().GetInterfaceMap(typeof(IPerturbation));
        int i = Array.FindIndex(map.InterfaceMethods, m => m.Name == method);
        return i >= 0 && map.TargetMethods[i].DeclaringType != typeof(IPerturbation);
    }

    /// <summary>
    /// Child <paramref name="index"/> made physically smaller when its masks remove whole units, checked to compute the
    /// same logits as <paramref name="child"/> (which is disposed when replaced); otherwise <paramref name="child"/> itself.
    /// </summary>
    private (MaskedNetwork Child, ChildCompactionReport Report) Compacted(MaskedNetwork child, int index, string when)
    {
        long probeSeed = Seeds.Derive(config.Seed, stream + "compaction-probe", index);
        StructuredCompaction.PlanResult planned;
        try
        {
            planned = StructuredCompaction.Plan(child, probeSeed);
        }
        catch (Exception e) when (e is ExternalException or InvalidOperationException or ArgumentException)
        {
            // A model the compaction does not understand (e.g. a Linear on [N, T, F]) stays dense.
            return (child, new ChildCompactionReport(null, when, new Dictionary<string, string> { ["*"] = $"the compaction probe failed: {e.Message.Split('\n')[0]}" },
                double.NaN, child.Sparsity));
        }
        if (planned.Plan is not { } plan) return (child, new ChildCompactionReport(null, when, planned.KeptDense, 0, child.Sparsity));
        var compact = plugins.Build(config.Model, data.InputShape, data.Classes, Seeds.Generator(config.Seed, stream + "child-init", index));
        try
        {
            compact.to(device);
            compact.CopyFrom(child);
            foreach (var (mine, theirs) in compact.MaskedLayers.Zip(child.MaskedLayers)) mine.FreezeMasked = theirs.FreezeMasked;
            double difference;
            try
            {
                StructuredCompaction.Compact(compact, plan, probeSeed);
                difference = StructuredCompaction.MaxLogitDifference(child, compact, probeSeed);
            }
            catch (Exception e) when (e is ExternalException or InvalidOperationException or ArgumentException)
            {
                // A model whose forward pass does not take the smaller layers (e.g. a hard-coded reshape) stays dense.
                compact.Dispose();
                var reasons = new Dictionary<string, string>(planned.KeptDense) { ["*"] = $"the compact network fails its forward pass: {e.Message.Split('\n')[0]}" };
                return (child, new ChildCompactionReport(null, when, reasons, double.NaN, child.Sparsity));
            }
            if (difference > CompactionTolerance)
            {
                compact.Dispose();
                var reasons = new Dictionary<string, string>(planned.KeptDense) { ["*"] = $"the compact network's logits differ by {difference:G3} on probe inputs (a path the compaction does not see)" };
                return (child, new ChildCompactionReport(null, when, reasons, difference, child.Sparsity));
            }
            double sparsity = child.Sparsity;
            child.Dispose();
            return (compact, new ChildCompactionReport(plan, when, planned.KeptDense, difference, sparsity));
        }
        catch
        {
            compact.Dispose();
            throw;
        }
    }

    /// <summary>Largest logit difference a compact child may show against its masked dense form on the probe inputs.</summary>
    private const double CompactionTolerance = 1e-4;

    /// <summary>
    /// Draws ϕ-set <paramref name="setIndex"/> with <paramref name="generator"/>: the sampler sees the parent's maskable
    /// weights and, through <see cref="SamplingContext"/>, the parent with the run's data and gradients. What it returns
    /// is checked (<see cref="SampledMasks.Checked"/>) and a mismatch is reported naming the plugin.
    /// </summary>
    public IReadOnlyList<ChildMask> SampleSet(int setIndex, Generator generator)
    {
        var weights = Maskable(parent);
        var context = new SamplingContext(new NetworkAccess(parent, weights, data.Train, data.Validation), setIndex, config.Seed);
        return plugins.Call(config.Children.Sampler, nameof(ISubnetworkSampler.SampleSet),
            () => SampledMasks.Checked(sampler.SampleSet(weights, generator, context), weights, sampler.SetSize));
    }

    /// <summary>
    /// Re-estimates the BatchNorm running statistics of a child from its final weights (after ξ, and after tuning where
    /// it is tuned): a cumulative average over children.reestimate_batches training batches (of the parent's batch size) in an order seeded by
    /// <paramref name="seed"/>, with only the BatchNorm layers in training mode (see <see cref="BatchNormStatistics"/>).
    /// </summary>
    private void ReestimateBatchNorm(MaskedNetwork child, long seed)
    {
        using var generator = new Generator((ulong)seed);
        using var order = randperm(data.Train.Count, generator: generator);
        long batch = config.Parent.BatchSize, count = Math.Min(config.Children.ReestimateBatches, (data.Train.Count + batch - 1) / batch);
        IEnumerable<Tensor> Batches()
        {
            for (long b = 0; b < count; b++)
            {
                using var rows = order.narrow(0, b * batch, Math.Min(batch, data.Train.Count - b * batch));
                using var inputs = data.Train.Read(rows);
                yield return inputs;   // disposed when the re-estimation moves on to the next batch
            }
        }
        BatchNormStatistics.Reestimate(child, Batches());
    }

    /// <summary>
    /// Trains <paramref name="model"/> for one stage (parent or child) with the stage's optimiser and schedule plugins;
    /// with <paramref name="checkpoints"/> it continues from a saved point and saves after every epoch and on interruption.
    /// A stage with subset &lt; 1 or bootstrap trains on its own rows of the training split, drawn from a generator seeded
    /// by the stage's shuffle seed (so the same stage always sees the same rows). With <paramref name="validation"/> the
    /// validation split is scored during training (and early stopping applies).
    /// </summary>
    public static TrainingOutcome TrainStage(Trainer trainer, PluginFactory plugins, MaskedNetwork model, DataSplits data,
        TrainingConfig stage, string label, long shuffleSeed, Action<TrainingProgress>? beforeStep, CancellationToken cancellation,
        ITrainingCheckpointer? checkpoints = null, ValidationPlan? validation = null, Action<TrainingProgress>? afterStep = null,
        OptimizerCarry? carry = null)
    {
        var factory = plugins.Create<IOptimizerFactory>(stage.Optimizer);
        var schedule = plugins.Create<ISchedule>(stage.Schedule);
        using var optimizer = factory.Create(model.parameters().ToList(), schedule.At(0, 1).LearningRate);
        if (carry?.From is { } from) OptimizerStateFile.Load(from, optimizer);
        using var shuffle = new Generator((ulong)shuffleSeed);
        using var rows = StageRows(data.Train, stage, shuffleSeed);
        trainer.FrozenMasksInPlace = carry is null;   // a carried optimiser state must not hold state for masked entries
        trainer.Augment = data.Augmentation is { } augmentation
            ? (x, batchRows, epoch) => augmentation.Apply(x, batchRows.cpu().data<long>().ToArray(), epoch)
            : null;
        var outcome = trainer.Train(model, rows ?? data.Train, new TrainingSettings(stage.Epochs, stage.BatchSize), optimizer, schedule, shuffle, label, beforeStep, checkpoints, validation, afterStep, cancellation);
        carry?.Finished?.Invoke(optimizer);
        return outcome;
    }

    /// <summary>
    /// Validation during the training stage <paramref name="stage"/> (at key path <paramref name="path"/>): the validation
    /// split every <c>validation_interval</c> epochs, scored by loss, accuracy and the run's configured non-pairwise metrics
    /// (finite values), with the stage's early stopping. Early stopping without validation rows is a configuration error.
    /// </summary>
    public static ValidationPlan? Validation(ExperimentConfig config, PluginFactory plugins, DataSplits data, TrainingConfig stage, string path)
    {
        if (stage.EarlyStopping is not null && (data.Validation.Count == 0 || stage.ValidationInterval < 1))
            throw new ConfigException(ConfigLocation.OfKey(path + ".early_stopping"),
                $"early stopping watches the validation split, which has {data.Validation.Count} rows here: give the data a validation split (data.validation > 0)");
        if (stage.ValidationInterval < 1 || data.Validation.Count == 0) return null;
        var metrics = RunScoring.Create(config, plugins).ScalarEvaluation;
        return new ValidationPlan(data.Validation, stage.ValidationInterval,
            (probabilities, labels) => metrics.OfOneModel(probabilities, labels).Values.Where(v => double.IsFinite(v.Value)).ToDictionary(v => v.Key, v => v.Value),
            stage.EarlyStopping?.Settings);
    }

    /// <summary>The stage's own training rows (null = the whole split): subset × N rows, without or (bootstrap) with replacement.</summary>
    public static DataRows? StageRows(DataRows train, TrainingConfig stage, long shuffleSeed)
    {
        if (stage.Subset >= 1 && !stage.Bootstrap) return null;
        long n = train.Count, take = stage.Rows(n);
        using var generator = new Generator((ulong)Seeds.Derive(shuffleSeed, "stage-rows"));
        using var drawn = stage.Bootstrap
            ? randint(0, n, [take], dtype: int64, generator: generator)
            : randperm(n, generator: generator, dtype: int64);
        using var indices = drawn.narrow(0, 0, take);
        return train.Subset(indices);
    }

    /// <summary>A glob ('*', '?') as an anchored regular expression.</summary>
    public static Regex Glob(string pattern) =>
        new("^" + Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".") + "$", RegexOptions.CultureInvariant);

    private void DisposeSet()
    {
        if (_set is null) return;
        foreach (var m in _set) m.Dispose();
        _set = null;
    }

    /// <inheritdoc />
    public void Dispose() => DisposeSet();
}

/// <summary>
/// A child as <see cref="ChildBuilder.Build"/> made it: the network (compact when <see cref="Compaction"/> has a plan), its
/// tuning, and the sparsity of its masks over the dense architecture (for a compact child, of its masks before compaction:
/// the removed units' rows, not the next layer's columns that read them).
/// </summary>
public sealed record BuiltChild(MaskedNetwork Child, TrainingOutcome Training, ChildCompactionReport? Compaction, double Sparsity)
{
    /// <summary>Deconstructs into the network and its tuning.</summary>
    public void Deconstruct(out MaskedNetwork child, out TrainingOutcome training)
    {
        child = Child;
        training = Training;
    }
}

/// <summary>
/// What children.compact did for one child: the plan (null: kept dense), when it was tried ("before tuning", "after
/// tuning", "untuned"), per masked layer with removed units that stayed dense the reason, and the largest logit difference
/// between the compact and the masked dense child on probe inputs; the dense child's mask sparsity.
/// </summary>
public sealed record ChildCompactionReport(CompactionPlan? Plan, string When, IReadOnlyDictionary<string, string> KeptDense, double MaxLogitDifference, double DenseSparsity);
