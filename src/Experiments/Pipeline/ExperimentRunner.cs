using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Experiments.Configuration;
using SubnetworkEnsembles.Experiments.Plugins;
using SubnetworkEnsembles.Experiments.Results;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// The pipeline of one experiment as three stages that communicate only through files in the run directory:
/// <b>parent</b> (train → parent.ckpt, parent.json, predictions/parent.npy; trust_region.json when a search is
/// configured), <b>child i</b> (load parent → sample ϕ (by sets) → perturb ξ → tune → children/child-i.{ckpt,json,npy}),
/// and <b>ensemble</b> (gather → model selection on the validation split → combine → results.json, predictions/*.npy).
/// A single-process run executes the same stages in order, so a distributed run gives exactly the same numbers.
/// Every random draw comes from <see cref="Seeds"/> keyed by the run seed and the child (or set) index. This class
/// coordinates: stage order and resume decisions; <see cref="ParentStage"/>, <see cref="ChildStage"/>,
/// <see cref="EnsembleStage"/> and <see cref="ResultsAssembler"/> do the work.
/// </summary>
public sealed class ExperimentRunner
{
    private readonly ILogger<ExperimentRunner> _logger;
    private readonly ParentStage _parent;
    private readonly ChildStage _child;
    private readonly EnsembleStage _ensemble;

    /// <summary>A runner that makes plugins with <paramref name="plugins"/> and logs to <paramref name="logger"/>.</summary>
    public ExperimentRunner(PluginFactory plugins, ILogger<ExperimentRunner> logger)
    {
        _logger = logger;
        _parent = new ParentStage(plugins, logger, NewTrainer, () => Faults);
        _child = new ChildStage(plugins, logger, NewTrainer, () => Faults);
        _ensemble = new EnsembleStage(plugins, logger, WriteReport, () => Faults);
    }

    /// <summary>Where training steps are reported (a live display or periodic log lines); none by default.</summary>
    public IProgress<StepReport>? Progress { get; set; }

    /// <summary>Where tests inject faults (<see cref="Diagnostics.IFaultPoints"/>); none by default.</summary>
    public Diagnostics.IFaultPoints Faults { get; set; } = Diagnostics.NoFaultPoints.Instance;

    private Trainer NewTrainer() => new(_logger)
    {
        Progress = Faults.Enabled
            ? step => { Progress?.Report(step); Faults.At(step.Label == "parent" ? "parent-step" : "child-step"); }
        : Progress is { } p ? p.Report : null,
    };

    /// <summary>
    /// Writes the report files of a finished run (before results.json, which marks the run finished) and returns the
    /// figures drawn; none when null.
    /// </summary>
    public Func<ExperimentConfig, DataSplits, RunDirectory, ExperimentResults, IReadOnlyList<string>>? Reporter { get; set; }

    /// <summary>Runs <paramref name="stage"/> (child <paramref name="index"/> for <see cref="Stage.Child"/>); returns results.json's content after the ensemble stage.</summary>
    public ExperimentResults? Run(Stage stage, int index, ExperimentConfig config, DataSplits data, Device device, RunDirectory run, double dataSeconds, CancellationToken cancellation)
    {
        // LibTorch's thread count is process-wide: set it for this stage only, so another experiment in the same process
        // (a library user, the tests) computes with the count it would have alone.
        int previousThreads = get_num_threads();
        if (config.Threads > 0) set_num_threads(config.Threads);
        try
        {
            return RunStage(stage, index, config, data, device, run, dataSeconds, cancellation);
        }
        finally
        {
            if (config.Threads > 0) set_num_threads(previousThreads);
        }
    }

    private ExperimentResults? RunStage(Stage stage, int index, ExperimentConfig config, DataSplits data, Device device, RunDirectory run, double dataSeconds, CancellationToken cancellation)
    {
        if ((config.Children.Keep > 0 || config.Children.TrustRegion is not null) && data.Validation.Count == 0)
            throw new InvalidOperationException("model selection and the trust-region search score on the validation split: set data.validation > 0");
        data.MoveTo(device);
        if (stage is Stage.All or Stage.Parent) Inference.DataDescription.Of(data).Save(run);
        switch (stage)
        {
            case Stage.Parent:
                RunParent(config, data, device, run, dataSeconds, cancellation);
                return null;
            case Stage.Child:
                if (_child.DoneEarlier(run, index)) _logger.LogInformation("Child {Index}: done earlier", index);
                else _child.RunTolerant(config, data, device, run, index, cancellation);
                return null;
            case Stage.Ensemble:
                return RunEnsemble(config, data, run);
            default:
                RunParent(config, data, device, run, dataSeconds, cancellation);
                for (int i = 0; i < config.Children.Count; i++)
                {
                    // Resuming: a finished child is a finished unit (so is one whose training diverged, unless fail_fast);
                    // an unfinished one is made again from its seeds.
                    if (_child.DoneEarlier(run, i)) _logger.LogInformation("Child {Index}/{Count}: done earlier", i + 1, config.Children.Count);
                    else if (!config.FailFast && RunStatus.ChildDiverged(run, i)) _logger.LogWarning("Child {Index}/{Count}: failed earlier (training diverged)", i + 1, config.Children.Count);
                    else _child.RunTolerant(config, data, device, run, i, cancellation);
                }
                return RunEnsemble(config, data, run);
        }
    }

    /// <summary>Stage 1: trains and evaluates the parent; runs the trust-region search when configured.</summary>
    public void RunParent(ExperimentConfig config, DataSplits data, Device device, RunDirectory run, double dataSeconds, CancellationToken cancellation) =>
        _parent.Run(config, data, device, run, dataSeconds, cancellation);

    /// <summary>Stage 2: makes child <paramref name="index"/> from the saved parent; writes only its own files, atomically.</summary>
    public void RunChild(ExperimentConfig config, DataSplits data, Device device, RunDirectory run, int index, CancellationToken cancellation) =>
        _child.Run(config, data, device, run, index, cancellation);

    /// <summary>Stage 3: gathers every child, selects, combines and evaluates; writes predictions and returns results.json's content.</summary>
    public ExperimentResults RunEnsemble(ExperimentConfig config, DataSplits data, RunDirectory run) => _ensemble.Run(config, data, run);

    /// <summary>
    /// Writes report.md, report.html, report/*.png, metrics.jsonl and tensorboard/ from the finished run. A failure here
    /// is logged and leaves results.json (already complete) alone; <c>sne report RUN_DIR</c> can redo it.
    /// </summary>
    public void WriteReport(ExperimentConfig config, DataSplits data, RunDirectory run, ExperimentResults results)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            if (Reporter is null) return;
            var figures = Reporter(config, data, run, results);
            _logger.LogInformation("Report: {Report} ({Figures}: {Names}; {Seconds:F1} s)", run.Combine("report.html"), figures.Count,
                string.Join(", ", figures), clock.Elapsed.TotalSeconds);
        }
        catch (Exception e) when (e is not (OperationCanceledException or IOException))
        {
            _logger.LogWarning("The report could not be written ({Error}); results.json is complete. Retry with: sne report {Directory}", e.Message, run.Path);
        }
    }
}
