using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Training;

/// <summary>Epochs and batch size of one training run.</summary>
public sealed record TrainingSettings(int Epochs, int BatchSize);

/// <summary>
/// One epoch's summary: mean training loss and accuracy over its batches, the last learning rate, wall time, and the
/// validation scores after it (null when the epoch was not evaluated, see <see cref="ValidationPlan"/>).
/// </summary>
public sealed record EpochRecord(int Epoch, double Loss, double Accuracy, double LearningRate, double Seconds, ValidationScores? Validation = null);

/// <summary>One finished step, for progress displays: stage label, epoch and batch (zero-based) of their totals, loss and learning rate.</summary>
public readonly record struct StepReport(string Label, int Epoch, int Epochs, long Batch, long Batches, float Loss, double LearningRate);

/// <summary>Training produced a non-finite loss (detected at the step it happens, before the optimiser applies it).</summary>
public sealed class TrainingDivergedException(string message) : SneException(message, ExitCodes.RuntimeFailure);

/// <summary>
/// The training loop shared by parent and children: per epoch a fresh permutation from the given generator,
/// per batch <c>perturbation hook → schedule → forward → cross-entropy → backward → step → re-apply frozen masks → after-step hook</c>,
/// each step inside its own dispose scope. Batches are read by row index (index_select on device tensors for data in memory).
/// </summary>
public sealed class Trainer(ILogger logger)
{
    /// <summary>Steps between two checks of the resident size (<see cref="NativeHeap.TrimIfGrown"/>).</summary>
    private const int HeapCheckInterval = 8;

    /// <summary>Called after every step (progress displays); keep it cheap.</summary>
    public Action<StepReport>? Progress { get; init; }

    /// <summary>
    /// Augments a training batch: (inputs [B, …] on the device, rows int64 [B] of the batch, epoch) → augmented inputs.
    /// Must depend only on its arguments (seeded by row and epoch), so a resumed run equals an uninterrupted one. Null = none.
    /// </summary>
    public Func<Tensor, Tensor, int, Tensor>? Augment { get; set; }

    /// <summary>
    /// Whether frozen layers may compute with W itself (kept equal to W ⊙ M) when no step hook is given
    /// (<see cref="MaskedNetwork.FrozenMasksInPlace"/>). Off when the optimiser state outlives the stage (it is carried to
    /// another network with other masks): in place, masked entries get gradients and so optimiser state.
    /// </summary>
    public bool FrozenMasksInPlace { get; set; } = true;

    /// <summary>Called after every epoch with the stage label and the epoch's record (metrics.jsonl, TensorBoard).</summary>
    public Action<string, EpochRecord>? EpochCompleted { get; init; }

    private static byte[] ShuffleState(Generator shuffle)
    {
        using var state = shuffle.get_state();
        return state.bytes.ToArray();
    }

    /// <summary>
    /// Trains <paramref name="model"/> in place. Randomness (batch order) comes only from <paramref name="shuffle"/>.
    /// <paramref name="beforeStep"/> runs before each step (e.g. <see cref="IPerturbation.OnTuningStep"/>) and
    /// <paramref name="afterStep"/> after it, once frozen masks are re-applied, with the step's gradients still in
    /// <c>.grad</c> (<see cref="IPerturbation.AfterTuningStep"/>); both outside the step's dispose scope. With
    /// <paramref name="validation"/> the model is scored on validation rows after the epochs it names, and may stop
    /// early and end with its best epoch's weights. Returns one record per trained epoch and where early stopping ended.
    /// Throws <see cref="OperationCanceledException"/> between steps when cancelled.
    /// </summary>
    public TrainingOutcome Train(MaskedNetwork model, DataRows data, TrainingSettings settings,
        ITrainableOptimizer optimizer, ISchedule schedule, Generator shuffle, string label,
        Action<TrainingProgress>? beforeStep = null, ITrainingCheckpointer? checkpoints = null, ValidationPlan? validation = null,
        Action<TrainingProgress>? afterStep = null, CancellationToken cancellation = default)
    {
        long n = data.Count;
        long stepsPerEpoch = (n + settings.BatchSize - 1) / settings.BatchSize;
        long totalSteps = stepsPerEpoch * settings.Epochs;
        var device = data.Device;
        var resumed = checkpoints?.Load(model, optimizer);
        var history = new List<EpochRecord>(resumed?.History ?? []);
        int firstEpoch = resumed?.Epoch ?? 0;
        long firstBatch = resumed?.Batch ?? 0;
        using var stopping = validation?.EarlyStopping is { } rule ? new EarlyStopping(rule, resumed?.EarlyStopping, resumed?.BestWeights) : null;
        if (resumed is not null)
        {
            using var state = tensor(resumed.ShuffleState, device: CPU);
            shuffle.set_state(state);
            if (resumed.Epoch >= settings.Epochs || stopping is { Stopped: true })
                logger.LogInformation("{Label}: all {Epochs} epochs were trained earlier", label, settings.Epochs);
            else
                logger.LogInformation("{Label}: resuming at epoch {Epoch}/{Epochs}, batch {Batch}/{Batches}",
                    label, resumed.Epoch + 1, settings.Epochs, resumed.Batch + 1, stepsPerEpoch);
        }
        model.train();
        // Without step hooks nothing changes a mask or reads a gradient between steps: frozen layers compute with W itself,
        // which the trainer keeps equal to W ⊙ M (MaskedNetwork.FrozenMasksInPlace), saving a product and its backward.
        using var inPlace = FrozenMasksInPlace && beforeStep is null && afterStep is null ? model.FrozenMasksInPlace() : null;
        for (int epoch = firstEpoch; epoch < settings.Epochs && stopping is not { Stopped: true }; epoch++)
        {
            var clock = Stopwatch.StartNew();
            byte[] epochStart = ShuffleState(shuffle);
            using var perm = randperm(n, generator: shuffle, device: CPU).to(device);
            using var lossSum = zeros(1, dtype: ScalarType.Float64, device: device);
            using var correct = zeros(1, dtype: ScalarType.Int64, device: device);
            long startBatch = 0;
            if (epoch == firstEpoch && resumed is not null)
            {
                lossSum.fill_(resumed.LossSum);
                correct.fill_(resumed.Correct);
                startBatch = firstBatch;
            }
            double lr = 0;
            for (long b = startBatch; b < stepsPerEpoch; b++)
            {
                long step = epoch * stepsPerEpoch + b;
                if (cancellation.IsCancellationRequested)
                {
                    // Stop cleanly between steps: save exactly where we are, so nothing of this epoch is lost.
                    checkpoints?.Save(new TrainingState(epoch, b, epochStart, lossSum.ToDouble(), correct.ToInt64(), history.ToList(),
                        stopping?.Progress, stopping?.BestWeights), model, optimizer);
                    cancellation.ThrowIfCancellationRequested();
                }
                // Outside the step's dispose scope: state a perturbation keeps across steps must not be freed with it.
                var progress = new TrainingProgress(step, totalSteps, epoch, stepsPerEpoch);
                beforeStep?.Invoke(progress);
                float lossValue;
                using (NewDisposeScope())
                {
                    var value = schedule.At(step, totalSteps);
                    lr = value.LearningRate;
                    optimizer.SetLearningRate(lr);
                    if (value.Momentum is double m && (value.AppliesToBeta1 || !optimizer.MomentumIsBeta1)) optimizer.SetMomentum(m);

                    long start = b * settings.BatchSize, count = Math.Min(settings.BatchSize, n - start);
                    var idx = perm.narrow(0, start, count);
                    var x = data.Read(idx);
                    if (Augment is not null) x = Augment(x, idx, epoch);
                    var y = data.Labels.index_select(0, idx);
                    optimizer.Optimizer.zero_grad();
                    var logits = model.call(x);
                    var loss = nn.functional.cross_entropy(logits, y);
                    lossValue = loss.ToSingle();
                    if (!float.IsFinite(lossValue))
                        throw new TrainingDivergedException($"{label}: the training loss is {lossValue} at step {step + 1} (epoch {epoch + 1}, batch {b + 1}); " +
                            "lower the learning rate or check the data");
                    loss.backward();
                    optimizer.Optimizer.step();
                    model.EnforceFrozenMasks();
                    using (no_grad())
                    {
                        lossSum.add_(loss.detach(), count);            // float64 accumulator: Σ batch-mean × batch size
                        correct.add_(logits.argmax(1).eq(y).sum());
                    }
                }
                afterStep?.Invoke(progress);
                Progress?.Invoke(new StepReport(label, epoch, settings.Epochs, b, stepsPerEpoch, lossValue, lr));
                // glibc keeps pages LibTorch freed in this step resident; hand them back when they add up (see NativeHeap).
                if ((step + 1) % HeapCheckInterval == 0) NativeHeap.TrimIfGrown();
            }
            double meanLoss = lossSum.ToDouble() / n;
            double trainSeconds = clock.Elapsed.TotalSeconds;
            // Evaluation mode without gradients and without random draws: the trajectory is the same without it.
            var scores = validation is not null && validation.IsDue(epoch + 1) ? validation.Evaluate(model) : null;
            var record = new EpochRecord(epoch + 1, meanLoss, correct.ToInt64() / (double)n, lr, trainSeconds, scores);
            bool stop = scores is not null && stopping is not null && stopping.Observe(epoch + 1, scores, model, lastEpoch: epoch + 1 == settings.Epochs);
            history.Add(record);
            checkpoints?.Save(new TrainingState(epoch + 1, 0, ShuffleState(shuffle), 0, 0, history.ToList(), stopping?.Progress, stopping?.BestWeights), model, optimizer);
            EpochCompleted?.Invoke(label, record);
            LogEpoch(label, record, settings.Epochs);
            if (stop)
                logger.LogInformation("{Label}: early stopping after epoch {Epoch}/{Epochs}: validation {Metric} has not improved for {Patience} evaluations (best {Best:F4} at epoch {BestEpoch})",
                    label, record.Epoch, settings.Epochs, validation!.EarlyStopping!.Metric.ToString().ToLowerInvariant(), stopping!.Progress.SinceBest,
                    stopping.Progress.BestValue, stopping.Progress.BestEpoch);
        }
        if (stopping is not null)
        {
            stopping.RestoreBest(model);
            if (stopping.Progress.RestoredEpoch is int restored)
                logger.LogInformation("{Label}: restored the weights of epoch {Epoch}, the best on validation {Metric} ({Best:F4})",
                    label, restored, validation!.EarlyStopping!.Metric.ToString().ToLowerInvariant(), stopping.Progress.BestValue);
        }
        // A step can turn weights non-finite with a finite loss (the next step's loss would show it); the last step cannot be caught that way.
        foreach (var (name, p) in model.named_parameters())
        {
            using var finite = p.isfinite().all();
            if (!finite.ToBoolean()) throw new TrainingDivergedException($"{label}: parameter {name} is not finite after training; lower the learning rate or check the data");
        }
        return new TrainingOutcome(history, stopping?.Progress);
    }

    private void LogEpoch(string label, EpochRecord record, int epochs)
    {
        if (record.Validation is not { } v)
        {
            logger.LogInformation("{Label} epoch {Epoch}/{Epochs}: loss {Loss:F4}, train accuracy {Accuracy:P2}, lr {Lr:G3}, {Seconds:F1} s",
                label, record.Epoch, epochs, record.Loss, record.Accuracy, record.LearningRate, record.Seconds);
            return;
        }
        string others = string.Concat(v.Metrics.Where(m => m.Key is not "nll" and not "accuracy").Select(m => $", val {m.Key} {m.Value:G4}"));
        logger.LogInformation("{Label} epoch {Epoch}/{Epochs}: loss {Loss:F4}, train accuracy {Accuracy:P2}, val loss {ValLoss:F4}, val accuracy {ValAccuracy:P2}{Others}, lr {Lr:G3}, {Seconds:F1} s",
            label, record.Epoch, epochs, record.Loss, record.Accuracy, v.Loss, v.Accuracy, others, record.LearningRate, record.Seconds);
    }
}
