using System.Reflection;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Models;

/// <summary>Changing a network's shapes by a <see cref="CompactionPlan"/>: shrinking it to a compact child and expanding one back.</summary>
public static partial class StructuredCompaction
{
    /// <summary>
    /// Shrinks the layers of a freshly built dense <paramref name="network"/> to the shapes of a compact child with
    /// <paramref name="plan"/> (nothing is folded: the compact child's saved weights are loaded afterwards).
    /// </summary>
    public static void Shrink(MaskedNetwork network, CompactionPlan plan) =>
        ShrinkLinked(network, plan, Links(network, new Dictionary<string, string>(), plan.KeptUnits.Keys.ToList()));

    /// <summary>
    /// Copies the compact child <paramref name="compact"/> (made with <paramref name="plan"/>) into <paramref name="dense"/>, a
    /// freshly built network of the dense architecture, so that it computes the same function masked-dense: kept rows and
    /// columns take the compact values, removed units get zero weights, biases and masks (and BatchNorm entries mean 0,
    /// variance 1), and their consumers zero weight and mask columns, so nothing of a removed unit reaches the output.
    /// </summary>
    public static void Expand(MaskedNetwork compact, MaskedNetwork dense, CompactionPlan plan)
    {
        var links = Links(dense, new Dictionary<string, string>(), plan.KeptUnits.Keys.ToList());
        var rows = new Dictionary<string, long[]>();
        var columns = new Dictionary<string, long[]>();
        foreach (var link in links)
        {
            var units = plan.KeptUnits[link.Producer.Name];
            rows[Prefix(link.Producer.Name)] = units;
            foreach (var norm in link.Norms) rows[dense.named_modules().First(m => ReferenceEquals(m.module, norm)).name] = units;
            long k = link.ColumnsPerUnit;
            columns[Prefix(link.Consumer.Name)] = Columns(units, k);
        }
        using var _ = no_grad();
        var source = compact.state_dict();
        foreach (var (name, target) in dense.state_dict())
        {
            var value = source[name];
            string prefix = Prefix(name);
            if (value.shape.SequenceEqual(target.shape))
            {
                target.copy_(value);
                continue;
            }
            var placed = value;
            var owned = new List<Tensor>();
            if (columns.TryGetValue(prefix, out var cols) && value.dim() >= 2)
            {
                long[] shape = [.. placed.shape];
                shape[1] = target.shape[1];
                var wide = zeros(shape, placed.dtype, placed.device);
                using var index = tensor(cols, device: placed.device);
                wide.index_copy_(1, index, placed);
                owned.Add(wide);
                placed = wide;
            }
            if (rows.TryGetValue(prefix, out var kept) && placed.shape[0] != target.shape[0])
            {
                using var index = tensor(kept, device: placed.device);
                target.fill_(name.EndsWith(".running_var", StringComparison.Ordinal) ? 1 : 0);
                target.index_copy_(0, index, placed);
            }
            else target.copy_(placed);
            foreach (var t in owned) t.Dispose();
        }
        foreach (var l in dense.MaskedLayers) l.RefreshMaskState();
    }

    private static string Prefix(string name) => name[..Math.Max(0, name.LastIndexOf('.'))];

    private static void ShrinkLinked(MaskedNetwork network, CompactionPlan plan, List<Link> links)
    {
        var missing = plan.KeptUnits.Keys.Except(links.Select(l => l.Producer.Name)).ToList();
        if (missing.Count > 0)
            throw new InvalidOperationException($"the compaction plan names {string.Join(", ", missing)}, which this network cannot compact (a different architecture?)");
        foreach (var link in links)
        {
            long units = link.Producer.weight.shape[0];
            if (!plan.DenseUnits.TryGetValue(link.Producer.Name, out long planned) || planned != units)
                throw new InvalidOperationException($"{link.Producer.Name} has {units} units here, the compact child was made from {planned} (a different architecture?)");
        }
        using var _ = no_grad();
        // Columns of consumers first (they read the producers' dense widths), then the producers' rows.
        foreach (var link in links)
        {
            var units = plan.KeptUnits[link.Producer.Name];
            long k = link.ColumnsPerUnit;
            var columns = Columns(units, k);
            using var index = tensor(columns, device: link.Consumer.weight.device);
            link.Consumer.Resize(w => w.index_select(1, index), keepBias: null);
        }
        foreach (var link in links)
        {
            using var index = tensor(plan.KeptUnits[link.Producer.Name], device: link.Producer.weight.device);
            link.Producer.Resize(w => w.index_select(0, index), keepBias: index);
            foreach (var norm in link.Norms) ShrinkNorm(norm, index);
        }
    }

    private static readonly FieldInfo NormFeatures = typeof(NormBase).GetField("<num_features>k__BackingField", BindingFlags.NonPublic | BindingFlags.Instance)!;

    private static void ShrinkNorm(NormBase norm, Tensor index)
    {
        if (norm.weight is { } w) norm.weight = new Parameter(w.index_select(0, index), w.requires_grad);
        if (norm.bias is { } b) norm.bias = new Parameter(b.index_select(0, index), b.requires_grad);
        if (norm.running_mean is { } m) norm.running_mean = m.index_select(0, index);
        if (norm.running_var is { } v) norm.running_var = v.index_select(0, index);
        NormFeatures?.SetValue(norm, index.shape[0]);
    }

    /// <summary>The Linear input columns that read <paramref name="units"/> when each unit owns <paramref name="columnsPerUnit"/> consecutive columns (flatten's [c, h, w] order): u·k … u·k + k − 1.</summary>
    private static long[] Columns(long[] units, long columnsPerUnit) =>
        units.SelectMany(u => Enumerable.Range(0, (int)columnsPerUnit).Select(c => u * columnsPerUnit + c)).ToArray();

    /// <summary>As <see cref="Columns(long[], long)"/> for a tensor of unit indices, on its device.</summary>
    private static Tensor Columns(Tensor units, long columnsPerUnit)
    {
        using var offsets = arange(columnsPerUnit, device: units.device);
        using var first = units.unsqueeze(1) * columnsPerUnit;
        using var all = first + offsets.unsqueeze(0);
        return all.flatten();
    }
}
