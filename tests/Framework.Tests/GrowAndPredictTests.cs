using System.Globalization;
using System.IO.Compression;
using System.Text;
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
        Sne.Results(grown)["ensemble"]!["members"]!.GetValue<int>().ShouldBe(5, "the parent and the 4 children");
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

/// <summary>A finished spirals run whose ensemble is the best 2 of its 4 children (selected on the validation split).</summary>
public sealed class FinishedSpirals : IDisposable
{
    private readonly TempDir _dir = new();

    public FinishedSpirals()
    {
        Run = Path.Combine(_dir.Path, "run");
        var r = Sne.Run("run", Repo.Example("spirals.yaml"), "--out", Run, "--set", "children.keep=2");
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
            (r[5] * 3).ShouldBe(Math.Round(r[5] * 3), 1e-5);   // a share of the 3 pairs of members (the parent and the 2 selected children)
            r[5].ShouldBeInRange(0, 1);
        }
        rows[0][4].ShouldBeLessThan(0.3);   // confident on the arms
    }

    /// <summary>
    /// Checks the run's saved predictions against its results.json — predictions/members.npy holds, in order, exactly
    /// the members marked selected (each equal to its children/child-NNN.npy) on the test rows whose labels are
    /// <paramref name="testLabels"/> — then that <c>sne predict</c> on <paramref name="input"/> (those test rows in the
    /// dataset's own units) gives, row by row, the mean of those members' probabilities (1e-6).
    /// </summary>
    internal static void PredictEqualsTheMeanOfTheSelectedMembers(string run, string input, long[] testLabels, int expectedMembers)
    {
        var results = Sne.Results(run);
        var selected = results["members"]!.AsArray().Where(m => m!["selected"]!.GetValue<bool>()).Select(m => m!["index"]!.GetValue<int>()).ToList();
        selected.Count.ShouldBe(expectedMembers);
        results["members"]!.AsArray().Count.ShouldBeGreaterThan(expectedMembers, "selection must leave some children out for this check to mean anything");
        // The parent is member −1, first, when it is a member (the default).
        var memberIndices = (results["ensemble"]!["includes_parent"]!.GetValue<bool>() ? selected.Prepend(-1) : selected).ToList();
        results["ensemble"]!["member_indices"]!.AsArray().Select(n => n!.GetValue<int>()).ShouldBe(memberIndices);

        NpyReader.ReadLong(Path.Combine(run, "predictions", "labels.npy")).Data.ShouldBe(testLabels, "members.npy covers the test rows, in order");
        var (shape, members) = NpyReader.ReadFloat(Path.Combine(run, "predictions", "members.npy"));
        shape.ShouldBe([memberIndices.Count, testLabels.Length, shape[2]]);
        int rows = testLabels.Length, classes = (int)shape[2], size = rows * classes;
        for (int k = 0; k < memberIndices.Count; k++)
        {
            string file = memberIndices[k] < 0 ? Path.Combine(run, "predictions", "parent.npy") : Path.Combine(run, "children", $"child-{memberIndices[k]:D3}.npy");
            members[(k * size)..((k + 1) * size)].ShouldBe(NpyReader.ReadFloat(file).Data, $"member {k} is {(memberIndices[k] < 0 ? "the parent" : $"child {memberIndices[k]}")}");
        }

        string output = Path.Combine(Path.GetDirectoryName(input)!, "predicted.csv");
        var result = Sne.Run("predict", run, "--input", input, "--output", output);
        result.ExitCode.ShouldBe(0, result.Output);
        var predicted = ReadCsv(output, out string header);
        header.ShouldBe("row," + string.Join(',', Enumerable.Range(0, classes).Select(c => $"p{c}")) + ",predicted,entropy,disagreement");
        predicted.Count.ShouldBe(rows);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < classes; c++)
            {
                double mean = Enumerable.Range(0, memberIndices.Count).Average(k => (double)members[k * size + r * classes + c]);
                predicted[r][1 + c].ShouldBe(mean, 1e-6, $"row {r}, class {c}");
            }
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Predict_on_the_spirals_test_rows_equals_the_mean_of_the_selected_members()
    {
        // The test rows as the run generated them (spirals are made from the split seed), written as exact CSV.
        using var data = TestData.Load(TestData.RunConfig(spirals.Run).Data);
        var points = data.Test.Inputs.data<float>().ToArray();
        var csv = new StringBuilder("x,y\n");
        for (int i = 0; i < points.Length; i += 2)
            csv.Append(points[i].ToString("R", CultureInfo.InvariantCulture)).Append(',').Append(points[i + 1].ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        using var dir = new TempDir();
        string input = dir.File("test-rows.csv", csv.ToString());
        PredictEqualsTheMeanOfTheSelectedMembers(spirals.Run, input, data.Test.Labels.data<long>().ToArray(), expectedMembers: 2);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Predict_on_raw_fashion_mnist_idx_rows_equals_the_mean_of_the_selected_members()
    {
        const int rows = 200;
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "fm");
        var trained = Sne.Run("run", Repo.Example("fashion-mnist-sparse.yaml"), "--out", run, "--quiet",
            "--set", "data.train_subset=1000", "--set", $"data.test_subset={rows}", "--set", "data.validation=500", "--set", "model.hidden=[64]",
            "--set", "parent.epochs=2", "--set", "children.count=3", "--set", "children.keep=2", "--set", "children.tuning.epochs=1");
        trained.ExitCode.ShouldBe(0, trained.Output);

        // The first 200 test images as the dataset ships them (pixels 0–255), as an uncompressed IDX file of their own.
        const string images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", labels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
        byte[] pixels = Gunzip(images)[16..(16 + rows * 28 * 28)];
        string input = Path.Combine(dir.Path, "first-200-images-idx3-ubyte");
        File.WriteAllBytes(input, [0, 0, 8, 3, .. BigEndian(rows), .. BigEndian(28), .. BigEndian(28), .. pixels]);
        long[] testLabels = Gunzip(labels)[8..(8 + rows)].Select(b => (long)b).ToArray();
        PredictEqualsTheMeanOfTheSelectedMembers(run, input, testLabels, expectedMembers: 2);
    }

    private static byte[] Gunzip(string path)
    {
        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var memory = new MemoryStream();
        gzip.CopyTo(memory);
        return memory.ToArray();
    }

    private static byte[] BigEndian(int value) => [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];

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
