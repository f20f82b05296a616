using Shouldly;
using SubnetworkEnsembles.Host;
using SubnetworkEnsembles.Host.Verbs;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// A corpus of bad files for everything but the configuration (tests/Framework.Tests/BadFiles: predict/ inputs,
/// weights/ parent weights, expected.tsv: what each message must say): inputs of the wrong shape, with non-finite
/// values or text in numeric columns, empty, or not an array at all; output paths that cannot be written; parent
/// weights that are not what their extension says. Each goes through the command's own code path: exit 2, one line on
/// stderr naming the file (and line or row) and what was expected, no stack trace, and nothing written.
/// </summary>
[Collection(PristineSpiralsRunGroup.Name)]
public class DamagedFileTests(PristineSpiralsRun spirals)
{
    private static string Corpus => Path.Combine(Repo.Root, "tests", "Framework.Tests", "BadFiles");

    /// <summary>(file, which run's model reads it, what the message says) from BadFiles/predict/expected.tsv.</summary>
    public static IEnumerable<object[]> PredictCases() =>
        File.ReadAllLines(Path.Combine(Corpus, "predict", "expected.tsv")).Where(l => l.Length > 0 && l[0] != '#')
            .Select(l => l.Split('\t')).Select(p => new object[] { p[0], p[1], p[2] });

    /// <summary>(weights file, what the message says) from BadFiles/weights/expected.tsv.</summary>
    public static IEnumerable<object[]> WeightsCases() =>
        File.ReadAllLines(Path.Combine(Corpus, "weights", "expected.tsv")).Where(l => l.Length > 0 && l[0] != '#')
            .Select(l => l.Split('\t')).Select(p => new object[] { p[0], p[1] });

    [Trait("Category", "unit")]
    [Fact]
    public void Every_corpus_file_has_an_expected_message_and_every_message_a_file()
    {
        foreach (var (folder, cases) in new[] { ("predict", PredictCases()), ("weights", WeightsCases()) })
        {
            var named = cases.Select(c => (string)c[0]).ToList();
            named.Distinct().Count().ShouldBe(named.Count);
            var files = Directory.GetFiles(Path.Combine(Corpus, folder)).Select(Path.GetFileName).Where(f => f != "expected.tsv").ToList();
            named.Where(n => n is not ("a-directory" or "missing.csv")).Order().ShouldBe(files.Order()!);
        }
        (PredictCases().Count() + WeightsCases().Count()).ShouldBeGreaterThanOrEqualTo(25);
    }

    [Trait("Category", "e2e")]
    [Theory]
    [MemberData(nameof(PredictCases))]
    public void A_bad_predict_input_exits_2_naming_the_file_and_writes_nothing(string name, string model, string expected)
    {
        using var dir = new TempDir();
        string input = Path.Combine(dir.Path, name);
        if (name == "a-directory") Directory.CreateDirectory(input);
        else if (name != "missing.csv") File.Copy(Path.Combine(Corpus, "predict", name), input);
        string output = Path.Combine(dir.Path, "out", "predictions.csv");
        var (code, stderr) = InProcess(() => PredictVerb.Execute(model == "fashion" ? FashionRun(dir) : spirals.Run, input, output, verbose: false));
        code.ShouldBe(2, stderr);
        OneLine(stderr).ShouldContain(name);
        stderr.ShouldContain(expected);
        Directory.Exists(Path.GetDirectoryName(output)).ShouldBeFalse("a bad input must not create the output folder");
    }

    [Trait("Category", "e2e")]
    [Theory]
    [InlineData("below-a-file", "is a file, expected a directory")]
    [InlineData("a-directory", "is a directory, expected a file to write")]
    public void A_predict_output_that_cannot_be_written_exits_2_before_predicting(string kind, string expected)
    {
        using var dir = new TempDir();
        string blocker = dir.File("blocker", "a regular file");
        string output = kind == "a-directory" ? dir.Path : Path.Combine(blocker, "sub", "predictions.csv");
        var (code, stderr) = InProcess(() => PredictVerb.Execute(spirals.Run, spirals.Input, output, verbose: false));
        code.ShouldBe(2, stderr);
        OneLine(stderr).ShouldContain("--output");
        stderr.ShouldContain(expected);
        File.ReadAllText(blocker).ShouldBe("a regular file");
    }

    [Trait("Category", "e2e")]
    [Theory]
    [InlineData("a-file")]
    [InlineData("below-a-file")]
    public void A_run_output_that_is_not_a_directory_exits_2_and_creates_nothing(string kind)
    {
        using var dir = new TempDir();
        string blocker = dir.File("blocker", "a regular file");
        string output = kind == "a-file" ? blocker : Path.Combine(blocker, "run");
        var (code, stderr) = InProcess(() => Commands.Run(new RunRequest(PristineSpiralsRun.Config, output, ["parent.epochs=1", "children.count=1"],
            [Repo.PluginsDirectory], false, false, Quiet: true), CancellationToken.None));
        code.ShouldBe(2, stderr);
        OneLine(stderr).ShouldContain("--out");
        stderr.ShouldContain("blocker is a file, expected a directory");
        File.ReadAllText(blocker).ShouldBe("a regular file");
    }

    [Trait("Category", "e2e")]
    [Theory]
    [MemberData(nameof(WeightsCases))]
    public void Parent_weights_that_are_not_what_their_extension_says_exit_2_and_create_no_run(string name, string expected)
    {
        using var dir = new TempDir();
        string weights = Path.Combine(dir.Path, name);
        File.Copy(Path.Combine(Corpus, "weights", name), weights);
        string run = Path.Combine(dir.Path, "run");
        var (code, stderr) = InProcess(() => Commands.Run(new RunRequest(PristineSpiralsRun.Config, run,
            [$"parent.weights={weights}", "parent.epochs=0", "children.count=1"], [Repo.PluginsDirectory], false, false, Quiet: true), CancellationToken.None));
        code.ShouldBe(2, stderr);
        OneLine(stderr).ShouldContain($"parent.weights: {weights}");
        stderr.ShouldContain(expected);
        Directory.Exists(run).ShouldBeFalse("weights that cannot be read must not create a run directory");
    }

    /// <summary>A run directory of the Fashion-MNIST example holding only its config.yaml: enough for predict to check inputs against the model's [1, 28, 28].</summary>
    private static string FashionRun(TempDir dir)
    {
        string run = Path.Combine(dir.Path, "fashion-run");
        Directory.CreateDirectory(run);
        File.Copy(Repo.Example("fashion-mnist-sparse.yaml"), Path.Combine(run, "config.yaml"));
        return run;
    }

    /// <summary>The single line of <paramref name="stderr"/>: sne's error, with no stack trace.</summary>
    private static string OneLine(string stderr)
    {
        stderr.ShouldNotContain("   at ");
        stderr.ShouldNotContain("unexpected failure");
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Length.ShouldBe(1, stderr);
        lines[0].ShouldStartWith("sne: error: ");
        return lines[0];
    }

    private static (int Code, string Stderr) InProcess(Func<int> command)
    {
        var result = SneInProcess.Run(command);
        return (result.ExitCode, result.Stderr);
    }
}
