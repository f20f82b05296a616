using System.Text.Json.Nodes;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Host.Configuration;

namespace SubnetworkEnsembles.Host.Pipeline;

/// <summary>
/// The cost of a run (results.json "cost"): forward FLOPs per sample (per layer and in total, see
/// <see cref="FlopCounter"/>), training FLOPs of the parent and of the children's tuning (3 × forward × rows × epochs,
/// dense — masked weights are computed densely here, as the record says), epochs, parameter counts, and each relative
/// to one independent model (the parent). The trust-region search's forward passes are not included.
/// </summary>
public static class RunCosts
{
    /// <summary>The "cost" object of results.json.</summary>
    public static JsonObject Of(ExperimentConfig config, DataSplits data, JsonObject parent, IReadOnlyList<JsonObject> trainedChildren, IReadOnlyList<JsonObject> members)
    {
        using var model = config.Model.Build(data.InputShape, data.Classes);
        var layers = FlopCounter.Layers(model);
        long forward = layers.Sum(l => l.ForwardFlops);
        long rows = data.Train.Count;
        int parentEpochs = parent["history"]?.AsArray().Count ?? 0;
        int childEpochs = trainedChildren.Sum(m => m["history"]?.AsArray().Count ?? 0);
        double parentFlops = 3.0 * forward * rows * parentEpochs;
        double childFlops = 3.0 * forward * rows * childEpochs;
        long parameters = model.ParameterCount;
        long ensembleNonZero = members.Sum(m => m["nonzero_parameters"]?.GetValue<long>() ?? parameters);
        double Relative(double value) => parentFlops > 0 ? value / parentFlops : double.NaN;
        return new JsonObject
        {
            ["masked_weights_computed_densely"] = true,
            ["forward_flops_per_sample"] = forward,
            ["layers"] = new JsonArray(layers.Select(l => (JsonNode)new JsonObject
            {
                ["name"] = l.Name, ["kind"] = l.Kind, ["weights"] = l.Weights, ["biases"] = l.Biases, ["forward_flops"] = l.ForwardFlops,
            }).ToArray()),
            ["training_rows"] = rows,
            ["epochs"] = new JsonObject
            {
                ["parent"] = parentEpochs, ["children"] = childEpochs, ["total"] = parentEpochs + childEpochs,
                ["relative_to_independent"] = parentEpochs > 0 ? (parentEpochs + childEpochs) / (double)parentEpochs : null,
            },
            ["training_flops"] = new JsonObject
            {
                ["parent"] = parentFlops, ["children"] = childFlops, ["total"] = parentFlops + childFlops,
                ["relative_to_independent"] = parentFlops > 0 ? Relative(parentFlops + childFlops) : null,
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
