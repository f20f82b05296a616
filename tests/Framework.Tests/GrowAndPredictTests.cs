using System.Globalization;
using Shouldly;
using Xunit;

namespace SubnetworkEnsembles.Tests;

public class GrowTests
{
    [Trait("Category", "e2e")]
    [Fact]
    public void Growing_k_children_by_n_equals_asking_for_k_plus_n_at_the_start()
    {
        using var dir = new TempDir();
        string grown = Path.Combine(dir.Path, "grown"), direct = Path.Combine(dir.Path, "direct");
        Sne.Run("run", Repo.Example("spirals.yaml"), "--out", grown, "--set", "children.count=2").ExitCode.ShouldBe(0);
        var before = Sne.Results(grown);
        before["members"]!.AsArray().Count.ShouldBe(2);

        var result = Sne.Run("grow", grown, "--children", "2");
        result.ExitCode.ShouldBe(0, result.Output);
        result.Stdout.ShouldContain("Growing");
        result.Stdout.ShouldContain("Child 2/4: done earlier");
        result.Stdout.ShouldNotContain("parent epoch");
        File.Exists(Path.Combine(grown, "results.previous.json")).ShouldBeTrue();

        Sne.Run("run", Repo.Example("spirals.yaml"), "--out", direct, "--set", "children.count=4").ExitCode.ShouldBe(0);
        Sne.DeterministicResults(grown).ShouldBe(Sne.DeterministicResults(direct));
        Sne.Results(grown)["ensemble"]!["members"]!.GetValue<int>().ShouldBe(4);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Grow_errors_are_clear()
    {
        using var dir = new TempDir();
        var missing = Sne.Run("grow", Path.Combine(dir.Path, "nothing"), "--children", "2");
        missing.ExitCode.ShouldBe(2);
        missing.Stderr.ShouldContain("does not exist");
        var noCount = Sne.Run("grow", dir.Path);
        noCount.ExitCode.ShouldBe(2);
        noCount.Stderr.ShouldContain("--children");
        var notRun = Sne.Run("grow", dir.Path, "--children", "1");
        notRun.ExitCode.ShouldBe(2);
        notRun.Stderr.ShouldContain("not a run directory");
    }
}

public sealed class FinishedSpirals : IDisposable
{
    private readonly TempDir _dir = new();

    public FinishedSpirals()
    {
        Run = Path.Combine(_dir.Path, "run");
        var r = Sne.Run("run", Repo.Example("spirals.yaml"), "--out", Run);
        r.ExitCode.ShouldBe(0, r.Output);
    }

    public string Run { get; }

    public string File(string name, string text) => _dir.File(name, text);

    public string Path_(string name) => Path.Combine(_dir.Path, name);

    public void Dispose() => _dir.Dispose();
}

public class PredictTests(FinishedSpirals spirals) : IClassFixture<FinishedSpirals>
{
    private static List<double[]> ReadCsv(string path, out string header)
    {
        var lines = File.ReadAllLines(path);
        header = lines[0];
        return lines.Skip(1).Select(l => l.Split(',').Select(c => double.Parse(c, CultureInfo.InvariantCulture)).ToArray()).ToList();
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Predict_from_csv_gives_probabilities_class_entropy_and_disagreement_per_row()
    {
        // Points on the two spiral arms at θ = 2π: (±2π, 0)/3π — class 0 on the right, class 1 on the left.
        string input = spirals.File("points.csv", "x,y\n0.6667,0\n-0.6667,0\n0.0,0.0\n");
        string output = spirals.Path_("out.csv");
        var result = Sne.Run("predict", spirals.Run, "--input", input, "--output", output);
        result.ExitCode.ShouldBe(0, result.Output);
        result.Stdout.ShouldContain("3 rows");
        var rows = ReadCsv(output, out string header);
        header.ShouldBe("row,p0,p1,predicted,entropy,disagreement");
        rows.Count.ShouldBe(3);
        rows[0][3].ShouldBe(0);
        rows[1][3].ShouldBe(1);
        foreach (var r in rows)
        {
            (r[1] + r[2]).ShouldBe(1, 1e-4);
            r[3].ShouldBe(r[1] >= r[2] ? 0 : 1);
            double entropy = -(r[1] * Math.Log(Math.Max(r[1], 1e-12)) + r[2] * Math.Log(Math.Max(r[2], 1e-12)));
            r[4].ShouldBe(entropy, 1e-4);
            (r[5] * 4).ShouldBe(Math.Round(r[5] * 4), 1e-5);   // a share of 4 members
            r[5].ShouldBeInRange(0, 1);
        }
        rows[0][4].ShouldBeLessThan(0.3);   // confident on the arms
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Npy_and_idx_inputs_give_the_same_predictions_as_csv()
    {
        float[] values = [0.25f, 0.5f, -0.3f, 0.1f];
        string csv = spirals.File("p.csv", "0.25,0.5\n-0.3,0.1\n");
        string npy = spirals.Path_("p.npy");
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
        header = header.PadRight(118 - 1) + "\n";
        using (var f = File.Create(npy))
        {
            f.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
            f.Write(BitConverter.GetBytes((ushort)header.Length));
            f.Write(System.Text.Encoding.ASCII.GetBytes(header));
            foreach (var v in values) f.Write(BitConverter.GetBytes(v));
        }
        Sne.Run("predict", spirals.Run, "--input", csv, "--output", spirals.Path_("a.csv")).ExitCode.ShouldBe(0);
        var fromNpy = Sne.Run("predict", spirals.Run, "--input", npy, "--output", spirals.Path_("b.csv"));
        fromNpy.ExitCode.ShouldBe(0, fromNpy.Output);
        File.ReadAllText(spirals.Path_("b.csv")).ShouldBe(File.ReadAllText(spirals.Path_("a.csv")));

        // IDX: unsigned bytes, rank 2 (3 rows of 2 values), the same numbers as a CSV.
        string idx = spirals.Path_("p-idx2-ubyte");
        File.WriteAllBytes(idx, [0, 0, 8, 2, 0, 0, 0, 3, 0, 0, 0, 2, 1, 0, 0, 2, 3, 3]);
        string same = spirals.File("q.csv", "1,0\n0,2\n3,3\n");
        Sne.Run("predict", spirals.Run, "--input", idx, "--output", spirals.Path_("c.csv")).ExitCode.ShouldBe(0);
        Sne.Run("predict", spirals.Run, "--input", same, "--output", spirals.Path_("d.csv")).ExitCode.ShouldBe(0);
        File.ReadAllText(spirals.Path_("c.csv")).ShouldBe(File.ReadAllText(spirals.Path_("d.csv")));
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Bad_inputs_are_clear_errors()
    {
        var wrongWidth = Sne.Run("predict", spirals.Run, "--input", spirals.File("w.csv", "1,2,3\n"));
        wrongWidth.ExitCode.ShouldBe(2);
        wrongWidth.Stderr.ShouldContain("w.csv:1: 3 values, but the model takes 2");
        var text = Sne.Run("predict", spirals.Run, "--input", spirals.File("t.csv", "1,2\n1,x\n"));
        text.ExitCode.ShouldBe(2);
        text.Stderr.ShouldContain("t.csv:2: expected 2 numbers");
        var missing = Sne.Run("predict", spirals.Run, "--input", spirals.Path_("none.npy"));
        missing.ExitCode.ShouldBe(2);
        missing.Stderr.ShouldContain("file not found");
        var badIdx = Sne.Run("predict", spirals.Run, "--input", spirals.File("bad-ubyte", "hello"));
        badIdx.ExitCode.ShouldBe(2);
        badIdx.Stderr.ShouldContain("bad IDX magic");
    }
}
