using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Shouldly;
using SkiaSharp;
using SubnetworkEnsembles.Host.Reporting;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// A finished spirals run that draws every figure the README lists: noise children chosen by a trust-region search
/// (trust-region.png) and three pairwise diversity metrics (diversity-&lt;metric&gt;.png), besides the training curves,
/// reliability, ensemble-size and decision-boundary figures. Tests read it only; a test that changes a run copies it.
/// </summary>
public sealed class ReportedSpirals : IDisposable
{
    private readonly TempDir _dir = new();

    public ReportedSpirals()
    {
        Run = Path.Combine(_dir.Path, "run");
        var result = Sne.Run("run", Repo.Example("spirals.yaml"), "--out", Run,
            "--set", "children.perturbation={type: noise, sigma: 0.01}",
            "--set", "children.trust_region={sigmas: [0.005, 0.02, 0.05], samples: 250, draws: 1}",
            "--set", "metrics=[accuracy, nll, {type: ece, bins: 15}, disagreement, kl-diversity, correlation]");
        result.ExitCode.ShouldBe(0, result.Output);
    }

    public string Run { get; }

    /// <summary>A copy of the run directory, for a test that rewrites or deletes its files.</summary>
    public string CopyTo(string directory)
    {
        foreach (var file in Directory.GetFiles(Run, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(directory, Path.GetRelativePath(Run, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return directory;
    }

    public void Dispose() => _dir.Dispose();
}

public class ReportTests(ReportedSpirals spirals) : IClassFixture<ReportedSpirals>
{
    /// <summary>
    /// Every figure the README lists for this run (report/*.png) and its size in pixels: 900 × 520 plots, 600 × 520
    /// heatmaps, and the decision-boundary grid of 3 sparsities (dense, 50 %, 90 %) × (parent + 4 σ up to 0.25) panels of 300 × 300.
    /// </summary>
    private static readonly Dictionary<string, (int Width, int Height)> Figures = new()
    {
        ["training-curves.png"] = (900, 520),
        ["reliability.png"] = (900, 520),
        ["ensemble-size.png"] = (900, 520),
        ["diversity-disagreement.png"] = (600, 520),
        ["diversity-kl_diversity.png"] = (600, 520),
        ["diversity-correlation.png"] = (600, 520),
        ["trust-region.png"] = (900, 520),
        ["decision-boundaries.png"] = (900, 1500),
    };

    /// <summary>
    /// report/ of <paramref name="run"/> holds exactly <see cref="Figures"/>, each a PNG that decodes to its size and
    /// is not blank: its grey levels vary (a plot on a plain background has lines, text and markers).
    /// </summary>
    private static void AssertEveryFigureIsDrawn(string run)
    {
        Directory.GetFiles(Path.Combine(run, "report")).Select(Path.GetFileName).Order(StringComparer.Ordinal)
            .ShouldBe(Figures.Keys.Order(StringComparer.Ordinal));
        foreach (var (figure, size) in Figures)
        {
            string path = Path.Combine(run, "report", figure);
            File.ReadAllBytes(path)[..8].ShouldBe(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, figure);
            using var bitmap = SKBitmap.Decode(path);
            bitmap.ShouldNotBeNull($"{figure} does not decode as an image");
            (bitmap.Width, bitmap.Height).ShouldBe(size, figure);
            var grey = bitmap.Pixels.Select(p => 0.299 * p.Red + 0.587 * p.Green + 0.114 * p.Blue).ToArray();
            double mean = grey.Average();
            double variance = grey.Sum(g => (g - mean) * (g - mean)) / grey.Length;
            variance.ShouldBeGreaterThan(25, $"{figure} is blank (grey-level variance {variance:F2})");
            bitmap.Pixels.Distinct().Count().ShouldBeGreaterThan(16, $"{figure} has almost no distinct colours");
        }
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void A_run_writes_markdown_and_self_contained_html_reports_with_every_figure()
    {
        string md = File.ReadAllText(Path.Combine(spirals.Run, "report.md"));
        string html = File.ReadAllText(Path.Combine(spirals.Run, "report.html"));
        var results = Sne.Results(spirals.Run);
        AssertEveryFigureIsDrawn(spirals.Run);
        foreach (var figure in Figures.Keys) md.ShouldContain($"(report/{figure})");
        System.Text.RegularExpressions.Regex.Count(html, "src=\"data:image/png;base64,").ShouldBe(Figures.Count);
        html.ShouldNotContain("src=\"report/");
        // Tables carry the run's numbers.
        md.ShouldContain($"| parent | {results["parent"]!["accuracy"]!.GetValue<double>():F4} |");
        md.ShouldContain("| ensemble (5 members, mean) |");
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Metrics_jsonl_has_every_epoch_and_every_model()
    {
        var results = Sne.Results(spirals.Run);
        var lines = File.ReadAllLines(Path.Combine(spirals.Run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        lines.Count.ShouldBe(20 + 4 * 10 + 1 + 4 + 1);
        lines[0]["stage"]!.GetValue<string>().ShouldBe("parent");
        lines[0]["loss"]!.GetValue<double>().ShouldBe(results["parent"]!["history"]![0]!["loss"]!.GetValue<double>());
        var child3 = lines.Where(l => l["stage"]!.GetValue<string>() == "child" && l["child"]!.GetValue<int>() == 3 && l["split"]!.GetValue<string>() == "train").ToList();
        child3.Count.ShouldBe(10);
        child3[0]["step"]!.GetValue<int>().ShouldBe(21);
        lines[^1]["stage"]!.GetValue<string>().ShouldBe("ensemble");
        lines[^1]["accuracy"]!.GetValue<double>().ShouldBe(results["ensemble"]!["accuracy"]!.GetValue<double>());
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void TensorBoard_events_are_valid_records_holding_the_scalars()
    {
        string file = Directory.GetFiles(Path.Combine(spirals.Run, "tensorboard"), "events.out.tfevents.*").Single();
        var bytes = File.ReadAllBytes(file);
        var scalars = new Dictionary<(string, long), float>();
        int at = 0, records = 0;
        while (at < bytes.Length)
        {
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at));
            MaskedCrc(bytes.AsSpan(at, 8)).ShouldBe(BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 8)));
            var data = bytes.AsSpan(at + 12, (int)length);
            MaskedCrc(data).ShouldBe(BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 12 + (int)length)));
            var e = Tensorboard.Event.Parser.ParseFrom(data.ToArray());
            if (e.Summary is not null)
                foreach (var v in e.Summary.Value) scalars[(v.Tag, e.Step)] = v.SimpleValue;
            at += 12 + (int)length + 4;
            records++;
        }
        records.ShouldBeGreaterThan(100);
        var results = Sne.Results(spirals.Run);
        scalars[("parent/train_loss", 1)].ShouldBe((float)results["parent"]!["history"]![0]!["loss"]!.GetValue<double>());
        scalars[("child-002/train_accuracy", 21)].ShouldBe((float)results["members"]![2]!["history"]![0]!["accuracy"]!.GetValue<double>());
        scalars[("ensemble/test_nll", 5)].ShouldBe((float)results["ensemble"]!["nll"]!.GetValue<double>());
    }

    /// <summary>TFRecord's masked CRC-32C.</summary>
    private static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
        }
        crc = ~crc;
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8;
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Sne_report_rewrites_the_report_of_a_finished_run_and_refuses_an_unfinished_one()
    {
        using var dir = new TempDir();
        string run = spirals.CopyTo(Path.Combine(dir.Path, "run"));
        string md = File.ReadAllText(Path.Combine(run, "report.md"));
        Directory.Delete(Path.Combine(run, "report"), recursive: true);
        File.Delete(Path.Combine(run, "report.md"));
        var result = Sne.Run("report", run);
        result.ExitCode.ShouldBe(0, result.Output);
        File.ReadAllText(Path.Combine(run, "report.md")).ShouldBe(md);
        AssertEveryFigureIsDrawn(run);

        File.Delete(Path.Combine(run, "results.json"));
        var unfinished = Sne.Run("report", run);
        unfinished.ExitCode.ShouldBe(2, unfinished.Output);
        unfinished.Stderr.ShouldContain("has no results.json: the run has not finished");
        var missing = Sne.Run("report", Path.Combine(dir.Path, "nothing-here"));
        missing.ExitCode.ShouldBe(2);
        missing.Stderr.ShouldContain("does not exist");
        var notRun = Sne.Run("report", dir.Path);
        notRun.ExitCode.ShouldBe(2);
        notRun.Stderr.ShouldContain("not a run directory");
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Reliability_bins_and_ensemble_size_curves_match_hand_computed_values()
    {
        using var probs = tensor(new float[] { 0.95f, 0.05f, 0.55f, 0.45f, 0.3f, 0.7f, 0.15f, 0.85f }, [4, 2]);
        using var labels = tensor(new long[] { 0, 1, 1, 0 }, [4]);
        var (confidence, accuracy, count) = RunReport.ReliabilityBins(probs, labels, bins: 10);
        count[9].ShouldBe(1);   // 0.95
        count[5].ShouldBe(1);   // 0.55
        count[6].ShouldBe(1);   // 0.7f is just below 0.7: bin 6 of the ece metric's (b/B, (b+1)/B]
        count[8].ShouldBe(1);   // 0.85
        accuracy[9].ShouldBe(1);
        accuracy[8].ShouldBe(0);
        confidence[5].ShouldBe(0.55, 1e-6);
        accuracy[5].ShouldBe(0);
        accuracy[6].ShouldBe(1);

        // Members [2, 2, 2]: member 0 right on both rows, member 1 wrong on row 0.
        using var members = tensor(new float[] { 0.8f, 0.2f, 0.4f, 0.6f, 0.1f, 0.9f, 0.4f, 0.6f }, [2, 2, 2]);
        using var y = tensor(new long[] { 0, 1 }, [2]);
        using var first = members.narrow(0, 0, 1).mean([0]);
        using var both = members.mean([0]);
        var one = Host.Benchmarks.FirstMembers.Score(first, y);
        var two = Host.Benchmarks.FirstMembers.Score(both, y);
        (one.Accuracy, two.Accuracy).ShouldBe((1.0, 0.5));
        one.Nll.ShouldBe(-(Math.Log(0.8) + Math.Log(0.6)) / 2, 1e-6);
        two.Nll.ShouldBe(-(Math.Log(0.45) + Math.Log(0.6)) / 2, 1e-6);
        two.Ece.ShouldBe((Math.Abs(0.55 - 0) + Math.Abs(0.6 - 1)) / 2, 1e-6);   // row 0: confidence 0.55, wrong; row 1: 0.6, right
    }
}
