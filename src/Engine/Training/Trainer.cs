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

/// <summary>Training produced a non-finite loss (detected at the step it happens, before the optimiser applies it).</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>
/// The training loop shared by parent and children: per epoch a fresh permutation from the given generator,
/// per batch <c>schedule → perturbation hook → forward → cross-entropy → backward → step → re-apply frozen masks</c>,
/// each step inside its own dispose scope. Data stays on the device as tensors; batches are index_select views.
/// </summary>
public sealed class Trainer(ILogger logger)
{
    /// <summary>
    /// Trains <paramref name="model"/> in place. Randomness (batch order) comes only from <paramref name="shuffle"/>.
    /// <paramref name="beforeStep"/> runs before each step (e.g. <see cref="IPerturbation.OnTuningStep"/>).
    /// Returns one record per epoch. Throws <see cref="OperationCanceledException"/> between steps when cancelled.
    /// </summary>
    public IReadOnlyList<EpochRecord> Train(MaskedNetwork model, InMemoryDataset data, TrainingSettings settings,
        ITrainableOptimizer optimizer, ISchedule schedule, Generator shuffle, string label,
        Action<TrainingProgress>? beforeStep = null, CancellationToken cancellation = default)
    {
        long n = data.Count;
        long stepsPerEpoch = (n + settings.BatchSize - 1) / settings.BatchSize;
        long totalSteps = stepsPerEpoch * settings.Epochs;
        var history = new List<EpochRecord>(settings.Epochs);
        var device = data.Inputs.device;
        model.train();
        long step = 0;
        for (int epoch = 0; epoch < settings.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            using var perm = randperm(n, generator: shuffle).to(device);
            using var lossSum = zeros(1, dtype: ScalarType.Float64, device: device);
            using var correct = zeros(1, dtype: ScalarType.Int64, device: device);
            double lr = 0;
            for (long b = 0; b < stepsPerEpoch; b++, step++)
            {
                cancellation.ThrowIfCancellationRequested();
                // Outside the step's dispose scope: state a perturbation keeps across steps must not be freed with it.
                beforeStep?.Invoke(new TrainingProgress(step, totalSteps, epoch, stepsPerEpoch));
                using var scope = NewDisposeScope();
                var value = schedule.At(step, totalSteps);
                lr = value.LearningRate;
                optimizer.SetLearningRate(lr);
                if (value.Momentum is double m) optimizer.SetMomentum(m);

                long start = b * settings.BatchSize, count = Math.Min(settings.BatchSize, n - start);
                var idx = perm.narrow(0, start, count);
                var x = data.Inputs.index_select(0, idx);
                var y = data.Labels.index_select(0, idx);
                optimizer.Optimizer.zero_grad();
                var logits = model.call(x);
                var loss = nn.functional.cross_entropy(logits, y);
                if (!float.IsFinite(loss.ToSingle()))
                    throw new TrainingDivergedException($"{label}: the training loss is {loss.ToSingle()} at step {step + 1} (epoch {epoch + 1}, batch {b + 1}); " +
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
            double meanLoss = lossSum.ToDouble() / n;
            var record = new EpochRecord(epoch + 1, meanLoss, correct.ToInt64() / (double)n, lr, clock.Elapsed.TotalSeconds);
            history.Add(record);
            logger.LogInformation("{Label} epoch {Epoch}/{Epochs}: loss {Loss:F4}, train accuracy {Accuracy:P2}, lr {Lr:G3}, {Seconds:F1} s",
                label, record.Epoch, settings.Epochs, record.Loss, record.Accuracy, lr, record.Seconds);
        }
        return history;
    }
}
