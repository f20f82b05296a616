using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Training;

/// <summary>What a model scored on the validation rows after one epoch.</summary>
/// <param name="Loss">NLL = −(1/N) Σₙ log p(yₙ|xₙ) over the N validation rows, in float64 with p clamped to ≥ 1e-12 (as the <c>nll</c> metric).</param>
/// <param name="Accuracy">Share of rows whose most probable class is the label, in [0, 1].</param>
/// <param name="Metrics">The run's configured (non-pairwise) metrics over the same probabilities; empty when none were asked for.</param>
public sealed record ValidationScores(double Loss, double Accuracy, IReadOnlyDictionary<string, double> Metrics)
{
    /// <summary>Loss and accuracy of <paramref name="probabilities"/> [N, C] (CPU) against <paramref name="labels"/> int64 [N], with <paramref name="metrics"/> beside them.</summary>
    public static ValidationScores Of(Tensor probabilities, Tensor labels, IReadOnlyDictionary<string, double>? metrics = null)
    {
        using var scope = NewDisposeScope();
        var p = probabilities.to_type(ScalarType.Float64).gather(1, labels.unsqueeze(1)).clamp_min(1e-12);
        double loss = -p.log().mean().ToDouble();
        double accuracy = probabilities.argmax(1).eq(labels).to_type(ScalarType.Float64).mean().ToDouble();
        return new ValidationScores(loss, accuracy, metrics ?? new Dictionary<string, double>());
    }
}

/// <summary>The validation value early stopping and best-epoch selection watch.</summary>
public enum StoppingMetric
{
    /// <summary>Validation NLL (<see cref="ValidationScores.Loss"/>); lower is better.</summary>
    Nll,
    /// <summary>Validation accuracy (<see cref="ValidationScores.Accuracy"/>); higher is better.</summary>
    Accuracy,
}

/// <summary>
/// Early stopping: training stops after the validation evaluation that is the <paramref name="Patience"/>-th in a row
/// without a strict improvement of <paramref name="Metric"/> over the best so far; with <paramref name="RestoreBest"/>
/// the stage ends with the weights (and buffers, masks) of its best evaluated epoch.
/// </summary>
/// <param name="Metric">The validation value watched.</param>
/// <param name="Patience">Evaluations without improvement after which training stops (≥ 1).</param>
/// <param name="RestoreBest">End with the best evaluated epoch's weights instead of the last epoch's.</param>
public sealed record EarlyStoppingSettings(StoppingMetric Metric, int Patience, bool RestoreBest)
{
    /// <summary>The watched value of <paramref name="scores"/>.</summary>
    public double ValueOf(ValidationScores scores) => Metric == StoppingMetric.Nll ? scores.Loss : scores.Accuracy;

    /// <summary>Whether <paramref name="value"/> is strictly better than <paramref name="best"/> (NaN never is).</summary>
    public bool IsBetter(double value, double best) => Metric == StoppingMetric.Nll ? value < best : value > best;
}

/// <summary>
/// Validation during training: after every epoch e (from 1) with e mod <paramref name="Interval"/> = 0 the model is
/// evaluated on <paramref name="Rows"/> in evaluation mode without gradients (target masks, no dropout, BatchNorm
/// statistics untouched, no random draws), so the training trajectory is the same with and without it.
/// </summary>
/// <param name="Rows">The validation rows; none = no validation values.</param>
/// <param name="Interval">Evaluate every this many epochs; 0 = never.</param>
/// <param name="Metrics">The configured metrics: (probabilities [N, C], labels [N], both on the CPU) → values; null = loss and accuracy only.</param>
/// <param name="EarlyStopping">Early stopping and best-epoch selection on the validation values; null = train every epoch.</param>
public sealed record ValidationPlan(DataRows Rows, int Interval, Func<Tensor, Tensor, IReadOnlyDictionary<string, double>>? Metrics = null,
    EarlyStoppingSettings? EarlyStopping = null)
{
    /// <summary>Whether epoch <paramref name="epoch"/> (from 1) is evaluated.</summary>
    public bool IsDue(int epoch) => Interval > 0 && Rows.Count > 0 && epoch % Interval == 0;

    /// <summary>Scores <paramref name="model"/> on <see cref="Rows"/> (see <see cref="Evaluator.Probabilities(MaskedNetwork, DataRows, int)"/>).</summary>
    public ValidationScores Evaluate(MaskedNetwork model)
    {
        using var probabilities = Evaluator.Probabilities(model, Rows);
        using var labels = Rows.Labels.cpu();
        return ValidationScores.Of(probabilities, labels, Metrics?.Invoke(probabilities, labels));
    }
}

/// <summary>Where early stopping stands: saved with a training checkpoint and recorded in the results.</summary>
/// <param name="BestEpoch">The evaluated epoch (from 1) with the best value so far; 0 before the first evaluation.</param>
/// <param name="BestValue">Its value (NaN before the first evaluation).</param>
/// <param name="SinceBest">Evaluations since the best one that did not improve on it.</param>
/// <param name="StoppedEpoch">The epoch after which training stopped early; null while it has not (or ran all epochs).</param>
/// <param name="RestoredEpoch">The epoch whose weights the stage ended with (restore_best); null when none were restored.</param>
public sealed record EarlyStoppingProgress(int BestEpoch, double BestValue, int SinceBest, int? StoppedEpoch = null, int? RestoredEpoch = null)
{
    /// <summary>Before the first evaluation.</summary>
    public static EarlyStoppingProgress Start { get; } = new(0, double.NaN, 0);
}

/// <summary>What one call of <see cref="Trainer.Train"/> produced.</summary>
/// <param name="History">One record per trained epoch (fewer than the epochs asked for when training stopped early).</param>
/// <param name="EarlyStopping">Where early stopping ended; null without early stopping.</param>
public sealed record TrainingOutcome(IReadOnlyList<EpochRecord> History, EarlyStoppingProgress? EarlyStopping);
