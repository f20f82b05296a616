using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Experiments.Configuration;
using SubnetworkEnsembles.Experiments.Pipeline;
using SubnetworkEnsembles.Experiments.Plugins;
using SubnetworkEnsembles.Experiments.Results;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Inference;

/// <summary>
/// The ensemble of a finished run, loaded from its checkpoints: the members results.json lists as selected, combined
/// with the run's combiner plugin. Predicts probabilities [N, C] and per-row uncertainty.
/// </summary>
public sealed class EnsemblePredictor : IDisposable
{
    private readonly List<MaskedNetwork> _members = [];
    private readonly IEnsembleCombiner _combiner;

    /// <summary>Loads the selected members of <paramref name="run"/>; throws when the run is unfinished or a checkpoint is missing.</summary>
    public EnsemblePredictor(RunDirectory run, ExperimentConfig config, PluginFactory plugins, long[] inputShape, int classes, Device device)
    {
        if (!File.Exists(run.ResultsFile)) throw new UsageException($"{run.Path} has no results.json: the run has not finished (resume it with sne run)");
        MemberIndices = ExperimentResults.Read(run.ResultsFile).Ensemble.MemberIndices;
        foreach (int i in MemberIndices)
        {
            if (!File.Exists(run.MemberCheckpoint(i))) throw new UsageException($"{run.MemberCheckpoint(i)} is missing: member {i} cannot be loaded");
            var model = RunDirectory.LoadModel(plugins, config.Model, inputShape, classes, run.MemberCheckpoint(i));
            model.to(device);
            model.eval();
            _members.Add(model);
        }
        _combiner = plugins.Create<IEnsembleCombiner>(config.Combiner);
    }

    /// <summary>The child indices of the members (−1: the parent, with children.include_parent).</summary>
    public IReadOnlyList<int> MemberIndices { get; }

    /// <summary>Member probabilities [M, N, C] and the combined ensemble probabilities [N, C] of <paramref name="inputs"/>.</summary>
    public (Tensor Members, Tensor Ensemble) Predict(Tensor inputs)
    {
        var probs = _members.Select(m => Evaluator.Probabilities(m, inputs)).ToList();
        try
        {
            var members = stack(probs, 0);
            return (members, _combiner.Combine(members));
        }
        finally
        {
            foreach (var p in probs) p.Dispose();
        }
    }

    /// <summary>Predictive entropy −Σ p log p (nats) per row of probabilities [N, C].</summary>
    public static Tensor Entropy(Tensor probabilities)
    {
        using var logp = probabilities.clamp_min(1e-12).log();
        using var terms = probabilities.mul(logp);
        return terms.sum([1]).neg();
    }

    /// <summary>Fraction of members whose predicted class differs from the ensemble's, per row: members [M, N, C], ensemble [N, C] → [N].</summary>
    public static Tensor Disagreement(Tensor members, Tensor ensemble)
    {
        using var memberClass = members.argmax(2);
        using var ensembleClass = ensemble.argmax(1);
        using var differs = memberClass.ne(ensembleClass.unsqueeze(0));
        return differs.to_type(ScalarType.Float32).mean([0]);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var m in _members) m.Dispose();
    }
}
