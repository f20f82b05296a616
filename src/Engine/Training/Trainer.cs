using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Training;

/// <summary>Epochs and batch size of one training run.</summary>
public sealed record TrainingSettings(int Epochs, int BatchSize);

/// <summary>One epoch's summary: mean training loss and accuracy over its batches, the last learning rate, wall time.</summary>
public sealed record EpochRecord(int Epoch, double Loss, double Accuracy, double LearningRate, double Seconds);

/// <summary>One finished step, for progress displays: stage label, epoch and batch (zero-based) of their totals, loss and learning rate.</summary>
public readonly record struct StepReport(string Label, int Epoch, int Epochs, long Batch, long Batches, float Loss, double LearningRate);

/// <summary>Training produced a non-finite loss (detected at the step it happens, before the optimiser applies it).</summary>
public sealed class TrainingDivergedException(string message) : SneException(message, ExitCodes.RuntimeFailure);

/// <summary>
/// The training loop shared by parent and children: per epoch a fresh permutation from the given generator,
/// per batch <c>schedule → perturbation hook → forward → cross-entropy → backward → step → re-apply frozen masks</c>,
/// each step inside its own dispose scope. Batches are read by row index (index_select on device tensors for data in memory).
/// </summary>
public sealed class Trainer(ILogger logger)
{
    /// <summary>Called after every step (progress displays); keep it cheap.</summary>
    public Action<StepReport>? Progress { get; init; }

    /// <summary>
    /// Augments a training batch: (inputs [B, …] on the device, rows int64 [B] of the batch, epoch) → augmented inputs.
    /// Must depend only on its arguments (seeded by row and epoch), so a resumed run equals an uninterrupted one. Null = none.
    /// </summary>
    public Func<Tensor, Tensor, int, Tensor>? Augment { get; set; }

    /// <summary>Called after every epoch with the stage label and the epoch's record (metrics.jsonl, TensorBoard).</summary>
    public Action<string, EpochRecord>? EpochCompleted { get; init; }

    private static byte[] ShuffleState(Generator shuffle)
    {
        using var state = shuffle.get_state();
        return state.bytes.ToArray();
    }

    /// <summary>
    /// Trains <paramref name="model"/> in place. Randomness (batch order) comes only from <paramref name="shuffle"/>.
    /// <paramref name="beforeStep"/> runs before each step (e.g. <see cref="IPerturbation.OnTuningStep"/>).
    /// Returns one record per epoch. Throws <see cref="OperationCanceledException"/> between steps when cancelled.
    /// </summary>
    public IReadOnlyList<EpochRecord> Train(MaskedNetwork model, DataRows data, TrainingSettings settings,
        ITrainableOptimizer optimizer, ISchedule schedule, Generator shuffle, string label,
        Action<TrainingProgress>? beforeStep = null, ITrainingCheckpointer? checkpoints = null, CancellationToken cancellation = default)
    {
        long n = data.Count;
        long stepsPerEpoch = (n + settings.BatchSize - 1) / settings.BatchSize;
        long totalSteps = stepsPerEpoch * settings.Epochs;
        var device = data.Device;
        var resumed = checkpoints?.Load(model, optimizer);
        var history = new List<EpochRecord>(resumed?.History ?? []);
        int firstEpoch = resumed?.Epoch ?? 0;
        long firstBatch = resumed?.Batch ?? 0;
        if (resumed is not null)
        {
            using var state = tensor(resumed.ShuffleState);
            shuffle.set_state(state);
            if (resumed.Epoch >= settings.Epochs)
                logger.LogInformation("{Label}: all {Epochs} epochs were trained earlier", label, settings.Epochs);
            else
                logger.LogInformation("{Label}: resuming at epoch {Epoch}/{Epochs}, batch {Batch}/{Batches}",
                    label, resumed.Epoch + 1, settings.Epochs, resumed.Batch + 1, stepsPerEpoch);
        }
        model.train();
        for (int epoch = firstEpoch; epoch < settings.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            byte[] epochStart = ShuffleState(shuffle);
            using var perm = randperm(n, generator: shuffle).to(device);
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
                    checkpoints?.Save(new TrainingState(epoch, b, epochStart, lossSum.ToDouble(), correct.ToInt64(), history.ToList()), model, optimizer);
                    cancellation.ThrowIfCancellationRequested();
                }
                // Outside the step's dispose scope: state a perturbation keeps across steps must not be freed with it.
                beforeStep?.Invoke(new TrainingProgress(step, totalSteps, epoch, stepsPerEpoch));
                using var scope = NewDisposeScope();
                var value = schedule.At(step, totalSteps);
                lr = value.LearningRate;
                optimizer.SetLearningRate(lr);
                if (value.Momentum is double m) optimizer.SetMomentum(m);

                long start = b * settings.BatchSize, count = Math.Min(settings.BatchSize, n - start);
                var idx = perm.narrow(0, start, count);
                var x = data.Read(idx);
                if (Augment is not null) x = Augment(x, idx, epoch);
                var y = data.Labels.index_select(0, idx);
                optimizer.Optimizer.zero_grad();
                var logits = model.call(x);
                var loss = nn.functional.cross_entropy(logits, y);
                float lossValue = loss.ToSingle();
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
                Progress?.Invoke(new StepReport(label, epoch, settings.Epochs, b, stepsPerEpoch, lossValue, lr));
            }
            double meanLoss = lossSum.ToDouble() / n;
            var record = new EpochRecord(epoch + 1, meanLoss, correct.ToInt64() / (double)n, lr, clock.Elapsed.TotalSeconds);
            history.Add(record);
            checkpoints?.Save(new TrainingState(epoch + 1, 0, ShuffleState(shuffle), 0, 0, history.ToList()), model, optimizer);
            EpochCompleted?.Invoke(label, record);
            logger.LogInformation("{Label} epoch {Epoch}/{Epochs}: loss {Loss:F4}, train accuracy {Accuracy:P2}, lr {Lr:G3}, {Seconds:F1} s",
                label, record.Epoch, settings.Epochs, record.Loss, record.Accuracy, lr, record.Seconds);
        }
        // A step can turn weights non-finite with a finite loss (the next step's loss would show it); the last step cannot be caught that way.
        foreach (var (name, p) in model.named_parameters())
        {
            using var finite = p.isfinite().all();
            if (!finite.ToBoolean()) throw new TrainingDivergedException($"{label}: parameter {name} is not finite after training; lower the learning rate or check the data");
        }
        return history;
    }
}
