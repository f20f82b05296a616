using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Experiments.Configuration;
using SubnetworkEnsembles.Experiments.Plugins;
using SubnetworkEnsembles.Experiments.Results;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// The cost of a run (results.json "cost"): forward FLOPs per sample (per layer and in total, see
/// <see cref="FlopCounter"/>), training FLOPs of the parent and of the children's tuning (3 × forward × rows × epochs,
/// dense — masked weights are computed densely here, as the record says; a stage that trains on a subset counts its own
/// rows), epochs, parameter counts, and each relative to one independent model: the architecture trained
/// <c>reference_epochs</c> (default parent.epochs) on the whole training split. The trust-region search's forward passes
/// are not included.
/// </summary>
public static class RunCosts
{
    /// <summary>
    /// The "cost" object of results.json from the parent, the children that trained (<paramref name="trainedChildren"/>)
    /// and the ensemble's <paramref name="members"/> (the parent among them with include_parent).
    /// </summary>
    public static RunCost Of(PluginFactory plugins, ExperimentConfig config, DataSplits data, ITrainedModelResult parent, IReadOnlyList<ITrainedModelResult> trainedChildren,
        IReadOnlyList<ITrainedModelResult> members)
    {
        using var model = plugins.Build(config.Model, data.InputShape, data.Classes, Abstractions.Seeds.Generator(config.Seed, "parent-init"));
        var layers = FlopCounter.Layers(model);
        long forward = layers.Sum(l => l.ForwardFlops);
        long rows = data.Train.Count;
        static int Epochs(ITrainedModelResult stage) => stage.History?.Count ?? 0;
        long Rows(ITrainedModelResult stage) => stage.TrainRows ?? rows;
        int parentEpochs = Epochs(parent);
        int childEpochs = trainedChildren.Sum(Epochs);
        double parentFlops = 3.0 * forward * Rows(parent) * parentEpochs;
        double childFlops = trainedChildren.Sum(m => 3.0 * (m.TuningForwardFlops ?? forward) * Rows(m) * Epochs(m));
        double denseChildFlops = trainedChildren.Sum(m => 3.0 * forward * Rows(m) * Epochs(m));
        long inference = members.Sum(m => m.ForwardFlops ?? forward);
        int referenceEpochs = config.ReferenceEpochs > 0 ? config.ReferenceEpochs : config.Parent.Epochs;
        double referenceFlops = 3.0 * forward * rows * referenceEpochs;
        long parameters = model.ParameterCount;
        long ensembleNonZero = members.Sum(m => m.NonzeroParameters ?? parameters);

        return new RunCost
        {
            MaskedWeightsComputedDensely = true,
            ForwardFlopsPerSample = forward,
            Layers = layers.Select(l => new LayerCostEntry { Name = l.Name, Kind = l.Kind, Weights = l.Weights, Biases = l.Biases, ForwardFlops = l.ForwardFlops }).ToList(),
            TrainingRows = rows,
            Reference = new ReferenceCost { Epochs = referenceEpochs, TrainingFlops = referenceFlops },
            Epochs = new StageTotals<int>
            {
                Parent = parentEpochs, Children = childEpochs, Total = parentEpochs + childEpochs,
                RelativeToIndependent = referenceEpochs > 0 ? (parentEpochs + childEpochs) / (double)referenceEpochs : double.NaN,
            },
            TrainingFlops = new StageTotals<double>
            {
                Parent = parentFlops, Children = childFlops, Total = parentFlops + childFlops,
                RelativeToIndependent = referenceFlops > 0 ? (parentFlops + childFlops) / referenceFlops : double.NaN,
            },
            DenseEquivalentTrainingFlops = new StageTotals<double>
            {
                Parent = parentFlops, Children = denseChildFlops, Total = parentFlops + denseChildFlops,
                RelativeToIndependent = referenceFlops > 0 ? (parentFlops + denseChildFlops) / referenceFlops : double.NaN,
            },
            Parameters = new ParameterCost
            {
                Model = parameters, Ensemble = parameters * members.Count, EnsembleNonzero = ensembleNonZero,
                EnsembleRelativeToIndependent = (double)parameters * members.Count / parameters,
                EnsembleNonzeroRelativeToIndependent = (double)ensembleNonZero / parameters,
            },
            InferenceFlopsPerSample = new InferenceCost
            {
                Ensemble = inference, RelativeToIndependent = forward > 0 ? inference / (double)forward : double.NaN,
                DenseEquivalent = forward * members.Count, DenseEquivalentRelativeToIndependent = members.Count,
            },
        };
    }
}
