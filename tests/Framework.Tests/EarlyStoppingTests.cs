using Microsoft.Extensions.Logging.Abstractions;
using Shouldly;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Experiments.Pipeline;
using SubnetworkEnsembles.Experiments.Results;
using SubnetworkEnsembles.Optimizers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// Validation during training and early stopping, on the Trainer directly: a small MLP (with dropout, so a stray draw from
/// its generator would show) learns labels y of random inputs; its validation rows are the same inputs labelled y + 1 mod 5,
/// so the validation NLL rises as training succeeds — a constructed case where early stopping must stop.
/// </summary>
[Trait("Category", "unit")]
public sealed class EarlyStoppingTests : IDisposable
{
    private const int Classes = 5, Patience = 2, Epochs = 12;
    private readonly InMemoryDataset _train, _validation, _test;

    public EarlyStoppingTests()
    {
        using var g = new Generator(3);
        var x = randn([192, 1, 8, 8], generator: g);
        var y = randint(0, Classes, [192], generator: g);
        _train = new InMemoryDataset(x, y);
        _validation = new InMemoryDataset(x.clone(), y.add(1).remainder(Classes));
        _test = new InMemoryDataset(randn([64, 1, 8, 8], generator: g), randint(0, Classes, [64], generator: g));
    }

    public void Dispose()
    {
        _train.Dispose();
        _validation.Dispose();
        _test.Dispose();
    }

    private static MaskedNetwork NewModel(double dropout = 0.3) => TestModels.Mlp([1, 8, 8], [32, 16], Classes, seed: 5, dropout: dropout);

    /// <summary>Trains a fresh model <paramref name="epochs"/> epochs (Adam, constant lr 0.01, batches of 32) with <paramref name="plan"/>.</summary>
    private TrainingOutcome Train(MaskedNetwork model, int epochs, ValidationPlan? plan, ITrainingCheckpointer? checkpoints = null,
        Action<StepReport>? progress = null, CancellationToken cancellation = default)
    {
        using var optimizer = new AdamOptimizer(new AdamOptimizerOptions()).Create(model.parameters().ToList(), 0.01);
        using var shuffle = new Generator(2);
        return new Trainer(NullLogger.Instance) { Progress = progress }.Train(model, _train, new TrainingSettings(epochs, 32), optimizer,
            new ConstantSchedule(new ConstantScheduleOptions { Lr = 0.01 }), shuffle, "test", checkpoints: checkpoints, validation: plan, cancellation: cancellation);
    }

    private ValidationPlan Plan(int interval = 1, EarlyStoppingSettings? stopping = null) => new(_validation, interval, null, stopping);

    /// <summary>NLL of <paramref name="model"/> on <paramref name="rows"/>, computed here from its probabilities (float64, p ≥ 1e-12).</summary>
    private static double Nll(MaskedNetwork model, DataRows rows)
    {
        using var p = Evaluator.Probabilities(model, rows);
        using var picked = p.to_type(ScalarType.Float64).gather(1, rows.Labels.unsqueeze(1)).clamp_min(1e-12);
        return -picked.log().mean().ToDouble();
    }

    private static void ShouldHaveTheSameState(MaskedNetwork actual, MaskedNetwork expected)
    {
        var mine = actual.state_dict();
        foreach (var (name, tensor) in expected.state_dict()) mine[name].IsSameAs(tensor).ShouldBeTrue($"{name} differs");
    }

    [Fact]
    public void Validation_every_epoch_leaves_the_weights_and_the_dropout_generator_exactly_as_without_it()
    {
        using var without = NewModel();
        using var with = NewModel();
        var plain = Train(without, 4, null);
        var validated = Train(with, 4, Plan());

        ShouldHaveTheSameState(with, without);
        using (var a = with.Generator!.get_state())
        using (var b = without.Generator!.get_state())
            a.IsSameAs(b).ShouldBeTrue("the dropout generator made the same draws");
        validated.History.Select(e => e.Loss).ShouldBe(plain.History.Select(e => e.Loss));
        plain.History.ShouldAllBe(e => e.Validation == null);
        validated.History.ShouldAllBe(e => e.Validation != null);
        // The last epoch's score is the validation NLL of the final weights.
        validated.History[^1].Validation!.Loss.ShouldBe(Nll(with, _validation), 1e-12);
        validated.History[0].Validation!.Loss.ShouldNotBe(validated.History[^1].Validation!.Loss);
    }

    [Fact]
    public void Validation_interval_two_scores_only_the_even_epochs()
    {
        using var model = NewModel();
        var outcome = Train(model, 5, Plan(interval: 2));
        outcome.History.Select(e => e.Validation is not null).ShouldBe([false, true, false, true, false]);
        outcome.EarlyStopping.ShouldBeNull();
    }

    /// <summary>Where patience <see cref="Patience"/> stops a series of validation losses (epoch from 1), and its best epoch; stop null = none.</summary>
    private static (int? Stop, int Best) ExpectedStop(List<double> losses)
    {
        int best = 1, since = 0;
        for (int e = 2; e <= losses.Count; e++)
        {
            if (losses[e - 1] < losses[best - 1]) (best, since) = (e, 0);
            else if (++since >= Patience && e < losses.Count) return (e, best);
        }
        return (null, best);
    }

    [Fact]
    public void Early_stopping_stops_after_patience_evaluations_without_improvement_and_restores_the_best_epochs_weights()
    {
        using var reference = NewModel();
        var losses = Train(reference, Epochs, Plan()).History.Select(e => e.Validation!.Loss).ToList();
        var (stop, best) = ExpectedStop(losses);
        stop.ShouldNotBeNull($"the constructed case must overfit the validation rows: {string.Join(", ", losses)}");
        losses[^1].ShouldBeGreaterThan(losses[best - 1]);

        using var stopped = NewModel();
        var outcome = Train(stopped, Epochs, Plan(stopping: new EarlyStoppingSettings(StoppingMetric.Nll, Patience, RestoreBest: true)));
        outcome.History.Count.ShouldBe(stop.Value);
        outcome.EarlyStopping.ShouldBe(new EarlyStoppingProgress(best, losses[best - 1], Patience, stop, best));

        // The best epoch's weights: the same training cut at that epoch (constant learning rate, same batch order).
        using var cut = NewModel();
        Train(cut, best, null);
        ShouldHaveTheSameState(stopped, cut);
        Nll(stopped, _test).ShouldBe(Nll(cut, _test));
        Nll(stopped, _validation).ShouldBe(losses[best - 1], 1e-12);
    }

    [Fact]
    public void Without_restore_best_the_stage_ends_with_the_stopping_epochs_weights()
    {
        using var stopped = NewModel();
        var outcome = Train(stopped, Epochs, Plan(stopping: new EarlyStoppingSettings(StoppingMetric.Accuracy, 1, RestoreBest: false)));
        outcome.EarlyStopping!.StoppedEpoch.ShouldNotBeNull();
        outcome.EarlyStopping.RestoredEpoch.ShouldBeNull();
        outcome.History.Count.ShouldBe(outcome.EarlyStopping.StoppedEpoch!.Value);
        Nll(stopped, _validation).ShouldBe(outcome.History[^1].Validation!.Loss, 1e-12);
    }

    [Fact]
    public void A_stage_interrupted_after_its_best_epoch_resumes_with_the_best_weights_and_patience_count_and_ends_identically()
    {
        // With dropout: the checkpoint holds the network generator's state, so the resumed draws are the uninterrupted ones.
        var stopping = new EarlyStoppingSettings(StoppingMetric.Nll, Patience, RestoreBest: true);
        using var uninterrupted = NewModel();
        var expected = Train(uninterrupted, Epochs, Plan(stopping: stopping));
        int stop = expected.EarlyStopping!.StoppedEpoch!.Value, best = expected.EarlyStopping.BestEpoch;
        best.ShouldBeLessThan(stop - 1, "the interruption must fall after an epoch without improvement");

        using var dir = new TempDir();
        var file = new TrainingCheckpointFile(Path.Combine(dir.Path, "parent.training"), NullLogger.Instance);
        using (var interrupted = NewModel())
        using (var cancel = new CancellationTokenSource())
        {
            // Cancelled in the stopping epoch, after 3 of its 6 batches: the saved point holds the patience count and the best weights.
            int steps = 0, at = (stop - 1) * 6 + 3;
            Should.Throw<OperationCanceledException>(() => Train(interrupted, Epochs, Plan(stopping: stopping), file, _ => { if (++steps == at) cancel.Cancel(); }, cancel.Token));
        }
        using var resumed = NewModel();
        var outcome = Train(resumed, Epochs, Plan(stopping: stopping), file);

        outcome.EarlyStopping.ShouldBe(expected.EarlyStopping);
        outcome.History.Select(e => (e.Epoch, e.Loss, e.Validation!.Loss)).ShouldBe(expected.History.Select(e => (e.Epoch, e.Loss, e.Validation!.Loss)));
        ShouldHaveTheSameState(resumed, uninterrupted);
    }

    [Fact]
    public void Configuration_rejects_a_negative_interval_zero_patience_and_early_stopping_without_evaluations_or_validation_rows()
    {
        var config = new Experiments.Configuration.ExperimentConfig
        {
            Data = new Experiments.Configuration.DataConfig { Validation = 0 },
            Parent = new Experiments.Configuration.ParentConfig { ValidationInterval = 0, EarlyStopping = new() { Patience = 0 } },
            Children = new Experiments.Configuration.ChildrenConfig { Tuning = new() { ValidationInterval = -1 } },
        };
        var problems = config.Validate().ToList();
        problems.ShouldContain(("parent.early_stopping.patience", "must be ≥ 1, got 0"));
        problems.ShouldContain(("parent.early_stopping", "watches validation evaluations, but parent.validation_interval is 0 (never): set it to ≥ 1"));
        problems.ShouldContain(("children.tuning.validation_interval", "must be ≥ 0 (0 = never), got -1"));
        problems.ShouldContain(("data.validation", "early stopping watches the validation split: set data.validation > 0"));
        new Experiments.Configuration.ExperimentConfig().Validate().ShouldBeEmpty();
    }

    [Fact]
    public void Validation_values_go_to_metrics_jsonl_records_and_to_validation_tensorboard_tags()
    {
        var epoch = new TrainingEpoch
        {
            Epoch = 3, Loss = 0.5, Accuracy = 0.75, Lr = 0.01, Seconds = 1, ValLoss = 0.6, ValAccuracy = 0.7,
            ValMetrics = new SortedDictionary<string, double>(StringComparer.Ordinal) { ["accuracy"] = 0.7, ["ece"] = 0.05, ["nll"] = 0.6 },
        };
        var results = new ExperimentResults { Parent = new ParentResult { History = [epoch] }, Members = [], Ensemble = new EnsembleResult() };
        var record = TrainingLogs.Records(results).First();
        record.ToJsonLine().ShouldBe("""{"stage":"parent","child":null,"epoch":3,"step":3,"split":"train","loss":0.5,"accuracy":0.75,"lr":0.01,"seconds":1,"val_loss":0.6,"val_accuracy":0.7,"val_ece":0.05,"val_nll":0.6}""");
        TrainingLogs.ScalarTag(record, "val_loss").ShouldBe("parent/validation_loss");
        TrainingLogs.ScalarTag(record, "val_ece").ShouldBe("parent/validation_ece");
        TrainingLogs.ScalarTag(record, "loss").ShouldBe("parent/train_loss");
    }
}
