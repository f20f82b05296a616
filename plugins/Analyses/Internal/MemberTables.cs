using SubnetworkEnsembles.Abstractions;

namespace SubnetworkEnsembles.Analyses.Internal;

/// <summary>Member × member tables of a pairwise distance and their summaries.</summary>
internal static class MemberTables
{
    /// <summary>The M × M table of <paramref name="distance"/>(i, j) (symmetric, computed once per pair; the diagonal is distance(i, i)).</summary>
    public static AnalysisTable Pairwise(string name, string caption, IReadOnlyList<AnalysisMember> members, Func<int, int, double> distance)
    {
        int m = members.Count;
        var values = new double[m][];
        for (int i = 0; i < m; i++) values[i] = new double[m];
        for (int i = 0; i < m; i++)
            for (int j = i; j < m; j++)
                values[i][j] = values[j][i] = distance(i, j);
        var labels = members.Select(x => x.Name).ToList();
        return new AnalysisTable(name, labels, labels, values, caption);
    }

    /// <summary>
    /// Two summaries of a pairwise table: the mean over pairs of distinct children ("NAME_between_children", NaN with
    /// fewer than two) and the mean distance of each child to the parent ("NAME_to_parent", NaN without children).
    /// </summary>
    public static IEnumerable<KeyValuePair<string, double>> Summaries(AnalysisTable table, IReadOnlyList<AnalysisMember> members)
    {
        var children = Enumerable.Range(0, members.Count).Where(i => members[i].ChildIndex >= 0).ToList();
        int parent = Enumerable.Range(0, members.Count).FirstOrDefault(i => members[i].ChildIndex < 0, -1);
        var pairs = children.SelectMany(i => children.Where(j => j > i).Select(j => table.Values[i][j])).ToList();
        yield return KeyValuePair.Create(table.Name + "_between_children", pairs.Count > 0 ? pairs.Average() : double.NaN);
        yield return KeyValuePair.Create(table.Name + "_to_parent", parent >= 0 && children.Count > 0 ? children.Average(i => table.Values[parent][i]) : double.NaN);
    }

    /// <summary><paramref name="count"/> distinct rows of 0 … <paramref name="rows"/> − 1 drawn by <paramref name="generator"/> (all rows, shuffled, when fewer).</summary>
    public static long[] SampleRows(long rows, int count, TorchSharp.torch.Generator generator)
    {
        using var order = TorchSharp.torch.randperm(rows, generator: generator);
        return order.data<long>().Take((int)Math.Min(count, rows)).ToArray();
    }
}
