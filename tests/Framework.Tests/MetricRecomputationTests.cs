using System.Text.Json.Nodes;
using Shouldly;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// The metrics of SPEC §1 and §5 written out in plain doubles, independently of the product's metric plugins, for
/// recomputing results.json from the saved predictions. Probabilities are [N][C]; ties in argmax go to the lower class.
/// </summary>
public static class IndependentMetrics
{
    /// <summary>Test probabilities of a finished run: the members' [M][N][C] (in predictions/members.npy order), the parent's [N][C], the labels [N].</summary>
    public sealed record Predictions(double[][][] Members, double[][] Parent, long[] Labels);

    /// <summary>Reads predictions/members.npy, parent.npy and labels.npy, checking their shapes agree.</summary>
    public static Predictions Read(string run)
    {
        var (memberShape, members) = NpyReader.ReadFloat(Path.Combine(run, "predictions", "members.npy"));
        var (parentShape, parent) = NpyReader.ReadFloat(Path.Combine(run, "predictions", "parent.npy"));
        var (labelShape, labels) = NpyReader.ReadLong(Path.Combine(run, "predictions", "labels.npy"));
        memberShape.Length.ShouldBe(3);
        int m = (int)memberShape[0], n = (int)memberShape[1], c = (int)memberShape[2];
        parentShape.ShouldBe(new long[] { n, c });
        labelShape.ShouldBe(new long[] { n });
        double[][] Rows(float[] data, int offset) =>
            Enumerable.Range(0, n).Select(i => Enumerable.Range(0, c).Select(k => (double)data[offset + i * c + k]).ToArray()).ToArray();
        return new Predictions(Enumerable.Range(0, m).Select(j => Rows(members, j * n * c)).ToArray(), Rows(parent, 0), labels);
    }

    /// <summary>The index of the largest value, the first one on ties.</summary>
    public static int ArgMax(double[] row)
    {
        int best = 0;
        for (int k = 1; k < row.Length; k++) if (row[k] > row[best]) best = k;
        return best;
    }

    /// <summary>Accuracy = (1/N) Σ 1[argmax p = y].</summary>
    public static double Accuracy(double[][] p, long[] y) => Enumerable.Range(0, y.Length).Count(i => ArgMax(p[i]) == y[i]) / (double)y.Length;

    /// <summary>NLL = −(1/N) Σ log max(p_y, 1e-12) (the product's documented clamp).</summary>
    public static double Nll(double[][] p, long[] y) => -Enumerable.Range(0, y.Length).Average(i => Math.Log(Math.Max(p[i][y[i]], 1e-12)));

    /// <summary>Brier = (1/N) Σₙ Σ_c (p_c − 1[c = y])².</summary>
    public static double Brier(double[][] p, long[] y) =>
        Enumerable.Range(0, y.Length).Average(i => p[i].Select((v, c) => Math.Pow(v - (c == y[i] ? 1 : 0), 2)).Sum());

    /// <summary>
    /// ECE = Σ_b (|B_b|/N) |acc(B_b) − conf(B_b)| and MCE = max over non-empty bins of |acc − conf|, with B equal-width
    /// bins of the confidence max_c p; bin b holds (b/B, (b+1)/B], confidence 0 goes to the first bin and 1 to the last.
    /// </summary>
    public static (double Ece, double Mce) Calibration(double[][] p, long[] y, int bins = 15)
    {
        var count = new double[bins];
        var confidence = new double[bins];
        var correct = new double[bins];
        for (int i = 0; i < y.Length; i++)
        {
            int predicted = ArgMax(p[i]);
            double conf = p[i][predicted];
            int b = Math.Clamp((int)Math.Ceiling(conf * bins) - 1, 0, bins - 1);
            count[b]++;
            confidence[b] += conf;
            correct[b] += predicted == y[i] ? 1 : 0;
        }
        double ece = 0, mce = 0;
        for (int b = 0; b < bins; b++)
        {
            if (count[b] == 0) continue;
            double gap = Math.Abs(correct[b] / count[b] - confidence[b] / count[b]);
            ece += count[b] / y.Length * gap;
            mce = Math.Max(mce, gap);
        }
        return (ece, mce);
    }

    /// <summary>The mean of the members' probabilities (the mean combiner).</summary>
    public static double[][] Mean(double[][][] members) =>
        Enumerable.Range(0, members[0].Length).Select(i => Enumerable.Range(0, members[0][i].Length).Select(c => members.Average(m => m[i][c])).ToArray()).ToArray();

    /// <summary>Majority vote as vote shares: the share of members whose argmax is each class.</summary>
    public static double[][] VoteShares(double[][][] members) =>
        Enumerable.Range(0, members[0].Length).Select(i =>
        {
            var shares = new double[members[0][i].Length];
            foreach (var m in members) shares[ArgMax(m[i])] += 1.0 / members.Length;
            return shares;
        }).ToArray();

    /// <summary>Disagreement d(a, b) = (1/N) Σ 1[argmax a ≠ argmax b].</summary>
    public static double Disagreement(double[][] a, double[][] b) => Enumerable.Range(0, a.Length).Count(i => ArgMax(a[i]) != ArgMax(b[i])) / (double)a.Length;

    /// <summary>KL diversity d(a, b) = (1/N) Σₙ Σ_c a log(a / b), both clamped to ≥ 1e-12 (the product's documented clamp).</summary>
    public static double KlDiversity(double[][] a, double[][] b) =>
        Enumerable.Range(0, a.Length).Average(i => a[i].Select((v, c) => Math.Max(v, 1e-12) * (Math.Log(Math.Max(v, 1e-12)) - Math.Log(Math.Max(b[i][c], 1e-12)))).Sum());

    /// <summary>
    /// Output correlation, eq. 7.1: for each sample the Pearson correlation of the two members' C-dimensional outputs,
    /// averaged over the samples where both outputs vary.
    /// </summary>
    public static double PerSampleCorrelation(double[][] a, double[][] b) =>
        Enumerable.Range(0, a.Length).Where(n => a[n].Distinct().Count() > 1 && b[n].Distinct().Count() > 1).Average(n => Pearson(a[n], b[n]));

    private static double Pearson(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Length; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxy / Math.Sqrt(sxx * syy);
    }

    /// <summary>matrix[i][j] = f(member i, member j) for i ≠ j, 0 on the diagonal.</summary>
    public static double[][] PairwiseMatrix(double[][][] members, Func<double[][], double[][], double> f) =>
        members.Select((a, i) => members.Select((b, j) => i == j ? 0 : f(a, b)).ToArray()).ToArray();

    /// <summary>The mean over ordered pairs i ≠ j.</summary>
    public static double PairMean(double[][] matrix) =>
        matrix.SelectMany((row, i) => row.Where((_, j) => j != i)).Average();

    /// <summary>Checks the single-model metrics of <paramref name="saved"/> (results.json's parent, a member or the ensemble) against <paramref name="p"/>.</summary>
    public static void ShouldMatchSingleModelMetrics(JsonNode saved, double[][] p, long[] y, string what, double tolerance = 1e-6)
    {
        double Value(string key) => saved[key]?.GetValue<double>() ?? throw new Xunit.Sdk.XunitException($"{what} has no '{key}' in results.json");
        Value("accuracy").ShouldBe(Accuracy(p, y), tolerance, $"{what}: accuracy");
        Value("nll").ShouldBe(Nll(p, y), tolerance, $"{what}: nll");
        var (ece, mce) = Calibration(p, y);
        Value("ece").ShouldBe(ece, tolerance, $"{what}: ece");
        Value("mce").ShouldBe(mce, tolerance, $"{what}: mce");
        if (saved["brier"] is not null) Value("brier").ShouldBe(Brier(p, y), tolerance, $"{what}: brier");
    }

    /// <summary>
    /// Recomputes the parent's and every member's metrics from the .npy files of <paramref name="run"/> and checks
    /// results.json: each member (members.npy row m is child ensemble.member_indices[m]) and the parent.
    /// </summary>
    public static Predictions ShouldMatchParentAndMembers(string run, double tolerance = 1e-6)
    {
        var results = Sne.Results(run);
        var saved = Read(run);
        ShouldMatchSingleModelMetrics(results["parent"]!, saved.Parent, saved.Labels, "parent", tolerance);
        var indices = results["ensemble"]!["member_indices"]!.AsArray().Select(n => n!.GetValue<int>()).ToList();
        indices.Count.ShouldBe(saved.Members.Length, "members.npy holds one row per ensemble member");
        var members = results["members"]!.AsArray();
        for (int m = 0; m < indices.Count; m++)
        {
            // Member −1 is the parent (children.include_parent), scored under "parent".
            var member = indices[m] < 0 ? results["parent"]! : members.Single(x => x!["index"]!.GetValue<int>() == indices[m])!;
            ShouldMatchSingleModelMetrics(member, saved.Members[m], saved.Labels, $"member {indices[m]}", tolerance);
        }
        return saved;
    }
}

/// <summary>
/// Every metric in results.json recomputed independently from predictions/*.npy (SPEC §1, §5): the parent's, each
/// member's and the ensemble's accuracy, NLL, ECE, MCE and Brier, the pairwise diversity matrices and their means.
/// </summary>
public class MetricRecomputationTests
{
    [Trait("Category", "e2e")]
    [Fact]
    public void Every_metric_in_results_json_equals_an_independent_recomputation_from_the_saved_predictions()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        var result = QuickSpirals.Run(run, null, "--set", "children.count=3",
            "--set", "metrics=[accuracy, nll, {type: ece, bins: 15}, brier, disagreement, kl-diversity, correlation]");
        result.ExitCode.ShouldBe(0, result.Output);

        var saved = IndependentMetrics.ShouldMatchParentAndMembers(run);
        saved.Members.Length.ShouldBe(4, "the parent and 3 children");
        var ensemble = Sne.Results(run)["ensemble"]!;
        IndependentMetrics.ShouldMatchSingleModelMetrics(ensemble, IndependentMetrics.Mean(saved.Members), saved.Labels, "ensemble");

        var pairwise = ensemble["pairwise"]!;
        foreach (var (key, f) in new (string, Func<double[][], double[][], double>)[]
        {
            ("disagreement", IndependentMetrics.Disagreement),
            ("kl_diversity", IndependentMetrics.KlDiversity),
            ("correlation", IndependentMetrics.PerSampleCorrelation),
        })
        {
            var expected = IndependentMetrics.PairwiseMatrix(saved.Members, f);
            var matrix = pairwise[key]!.AsArray().Select(row => row!.AsArray().Select(v => v!.GetValue<double>()).ToArray()).ToArray();
            matrix.Length.ShouldBe(4, key);
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                    matrix[i][j].ShouldBe(expected[i][j], 1e-6, $"{key}[{i}][{j}]");
            ensemble[key]!.GetValue<double>().ShouldBe(IndependentMetrics.PairMean(expected), 1e-6, key);
        }
        // Not vacuous: the members differ, so every diversity is non-zero.
        ensemble["kl_diversity"]!.GetValue<double>().ShouldBeGreaterThan(0);
        ensemble["correlation"]!.GetValue<double>().ShouldBeLessThan(1);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void The_vote_combiner_end_to_end_equals_a_majority_vote_recomputed_from_members_npy()
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        var result = QuickSpirals.Run(run, null, "--set", "children.count=3", "--set", "combiner=vote",
            "--set", "metrics=[accuracy, nll, {type: ece, bins: 15}, brier]");
        result.ExitCode.ShouldBe(0, result.Output);

        var saved = IndependentMetrics.ShouldMatchParentAndMembers(run);
        var ensemble = Sne.Results(run)["ensemble"]!;
        ensemble["combiner"]!.GetValue<string>().ShouldBe("vote");
        var shares = IndependentMetrics.VoteShares(saved.Members);
        IndependentMetrics.ShouldMatchSingleModelMetrics(ensemble, shares, saved.Labels, "vote ensemble");

        // The vote is not the mean in disguise: the mean of the same members has a different NLL.
        double meanNll = IndependentMetrics.Nll(IndependentMetrics.Mean(saved.Members), saved.Labels);
        Math.Abs(ensemble["nll"]!.GetValue<double>() - meanNll).ShouldBeGreaterThan(1e-3);
    }
}
