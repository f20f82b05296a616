using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Models;

/// <summary>Which masked layer reads which: producer → consumer links found from one forward pass (see <see cref="StructuredCompaction"/>).</summary>
public static partial class StructuredCompaction
{
    /// <summary>How one compactable producer P connects to its consumer C.</summary>
    private sealed record Link(MaskedLayer Producer, MaskedLayer Consumer, long ColumnsPerUnit, IReadOnlyList<NormBase> Norms);

    /// <summary>
    /// Producer → consumer links of every masked layer with zero mask rows that passes the structural conditions; the others
    /// are recorded in <paramref name="keptDense"/> with the reason.
    /// </summary>
    private static List<Link> Links(MaskedNetwork network, Dictionary<string, string> keptDense, IReadOnlyCollection<string>? only = null)
    {
        var order = ExecutionOrder(network);
        var layers = network.MaskedLayers;
        var links = new List<Link>();
        for (int i = 0; i < layers.Count; i++)
        {
            var p = layers[i];
            long removed = 1;   // with only: the structure alone decides (a freshly built network has no zero rows yet)
            if (only is not null && !only.Contains(p.Name)) continue;
            if (only is null)
            {
                using var alive = RowAlive(p);
                removed = p.weight.shape[0] - alive.sum().ToInt64();
                if (removed == 0) continue;
            }
            string? reason = null;
            Link? link = null;
            if (p.IsOutputLayer) reason = "the output layer's units are the classes";
            else if (only is null && removed == p.weight.shape[0]) reason = "every unit is removed";
            else if (p.Module is Conv2d { groups: not 1 }) reason = "grouped convolution";
            else if (i + 1 >= layers.Count) reason = "no masked layer reads it";
            else
            {
                var c = layers[i + 1];
                long width = p.weight.shape[0], inC = c.weight.shape[1];
                var between = Between(order, p.Module, c.Module);
                if (c.Module is Conv2d { groups: not 1 }) reason = $"{c.Name} is a grouped convolution";
                else if (between is null) reason = $"{c.Name} does not run after it";
                else if (between.FirstOrDefault(m => m is not NormBase && m.parameters().Any()) is { } other)
                    reason = $"{other.GetType().Name} with parameters lies between it and {c.Name}";
                else if (between.OfType<NormBase>().FirstOrDefault(n => n.num_features != width) is { } norm)
                    reason = $"a {norm.GetType().Name} of {norm.num_features} features lies between it ({width} units) and {c.Name}";
                else if (c.Module is Conv2d && inC != width) reason = $"{c.Name} reads {inC} channels, not its {width}";
                else if (c.Module is Linear && (inC % width != 0)) reason = $"{c.Name} reads {inC} features, not a multiple of its {width} units";
                else link = new Link(p, c, c.Module is Linear ? inC / width : 1, between.OfType<NormBase>().ToList());
            }
            if (link is not null) links.Add(link);
            else keptDense[p.Name] = reason!;
        }
        return links;
    }

    /// <summary>The leaf modules run strictly between <paramref name="from"/> and the first run of <paramref name="to"/> after it; null when <paramref name="to"/> does not run after <paramref name="from"/>.</summary>
    private static List<nn.Module>? Between(List<nn.Module> order, nn.Module from, nn.Module to)
    {
        int start = order.FindIndex(m => ReferenceEquals(m, from));
        if (start < 0) return null;
        int end = order.FindIndex(start + 1, m => ReferenceEquals(m, to));
        return end < 0 ? null : order.GetRange(start + 1, end - start - 1);
    }

    /// <summary>The leaf modules of <paramref name="network"/> in the order one forward pass (evaluation mode) runs them.</summary>
    private static List<nn.Module> ExecutionOrder(MaskedNetwork network)
    {
        var order = new List<nn.Module>();
        var leaves = network.named_modules().Select(m => m.module).Where(m => !m.children().Any()).OfType<nn.Module<Tensor, Tensor>>().ToList();
        var hooks = leaves.Select(m => m.register_forward_pre_hook((module, input) =>
        {
            order.Add(module);
            return null!;
        })).ToList();
        try
        {
            using var y = ProbeLogits(network, null, 1);
        }
        finally
        {
            foreach (var h in hooks) h.remove();
        }
        return order;
    }
}
