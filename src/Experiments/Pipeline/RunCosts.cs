using System.Text.Json.Nodes;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Experiments.Configuration;

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
    /// <summary>The "cost" object of results.json.</summary>
    public static JsonObject Of(ExperimentConfig config, DataSplits data, JsonObject parent, IReadOnlyList<JsonObject> trainedChildren, IReadOnlyList<JsonObject> members)
    {
        using var model = config.Model.Build(data.InputShape, data.Classes, Seeds.Generator(config.Seed, "parent-init"));
        var layers = FlopCounter.Layers(model);
        long forward = layers.Sum(l => l.ForwardFlops);
        long rows = data.Train.Count;
        static int Epochs(JsonObject stage) => stage["history"]?.AsArray().Count ?? 0;
        long Rows(JsonObject stage) => stage["train_rows"]?.GetValue<long>() ?? rows;
        int parentEpochs = Epochs(parent);
        int childEpochs = trainedChildren.Sum(Epochs);
        double parentFlops = 3.0 * forward * Rows(parent) * parentEpochs;
        double childFlops = trainedChildren.Sum(m => 3.0 * forward * Rows(m) * Epochs(m));
        int referenceEpochs = config.ReferenceEpochs > 0 ? config.ReferenceEpochs : config.Parent.Epochs;
        double referenceFlops = 3.0 * forward * rows * referenceEpochs;
        long parameters = model.ParameterCount;
        long ensembleNonZero = members.Sum(m => m["nonzero_parameters"]?.GetValue<long>() ?? parameters);

        return new JsonObject
        {
            ["masked_weights_computed_densely"] = true,
            ["forward_flops_per_sample"] = forward,
            ["layers"] = new JsonArray(layers.Select(l => (JsonNode)new JsonObject
            {
                ["name"] = l.Name, ["kind"] = l.Kind, ["weights"] = l.Weights, ["biases"] = l.Biases, ["forward_flops"] = l.ForwardFlops,
            }).ToArray()),
            ["training_rows"] = rows,
            ["reference"] = new JsonObject { ["epochs"] = referenceEpochs, ["training_flops"] = referenceFlops },
            ["epochs"] = new JsonObject
            {
                ["parent"] = parentEpochs, ["children"] = childEpochs, ["total"] = parentEpochs + childEpochs,
                ["relative_to_independent"] = referenceEpochs > 0 ? (parentEpochs + childEpochs) / (double)referenceEpochs : null,
            },
            ["training_flops"] = new JsonObject
            {
                ["parent"] = parentFlops, ["children"] = childFlops, ["total"] = parentFlops + childFlops,
                ["relative_to_independent"] = referenceFlops > 0 ? (parentFlops + childFlops) / referenceFlops : null,
            },
            ["parameters"] = new JsonObject
            {
                ["model"] = parameters, ["ensemble"] = parameters * members.Count, ["ensemble_nonzero"] = ensembleNonZero,
                ["ensemble_relative_to_independent"] = (double)parameters * members.Count / parameters,
                ["ensemble_nonzero_relative_to_independent"] = (double)ensembleNonZero / parameters,
            },
            ["inference_flops_per_sample"] = new JsonObject { ["ensemble"] = forward * members.Count, ["relative_to_independent"] = members.Count },
        };
    }
}
