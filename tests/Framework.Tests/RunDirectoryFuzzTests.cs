using Shouldly;
using SubnetworkEnsembles.Host.Verbs;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// One finished tiny spirals run (3 parent epochs, 2 children tuned for 1 epoch, 1 thread), made once for the damaged-file
/// tests, with what every reading command gives on it intact: the baseline a command that succeeds on a damaged copy
/// must reproduce.
/// </summary>
public sealed class PristineSpiralsRun : IDisposable
{
    /// <summary>The settings of the run (and of resuming it).</summary>
    public static readonly string[] Settings =
        ["--set", "threads=1", "--set", "parent.epochs=3", "--set", "children.tuning.epochs=1", "--set", "children.count=2"];

    private readonly TempDir _dir = new();

    public PristineSpiralsRun()
    {
        Run = Path.Combine(_dir.Path, "run");
        var result = Sne.Run(["run", Config, "--out", Run, "--quiet", .. Settings]);
        result.ExitCode.ShouldBe(0, result.Output);
        Input = _dir.File("points.csv", "x,y\n0.66,0\n-0.66,0\n0.1,0.2\n");
        string scratch = Copy("baseline");
        Status = SneInProcess.Run(() => StatusVerb.Execute(scratch, verbose: false)).Stdout.Replace(scratch, "RUN");
        SneInProcess.Run(() => ReportVerb.Execute(scratch, verbose: false)).ExitCode.ShouldBe(0);
        Report = ReportOf(scratch);
        string predictions = Path.Combine(_dir.Path, "baseline.csv");
        SneInProcess.Run(() => PredictVerb.Execute(scratch, Input, predictions, verbose: false)).ExitCode.ShouldBe(0);
        Predictions = File.ReadAllText(predictions);
        Results = Sne.DeterministicResults(Run);
        string grown = Copy("grown");
        Sne.Run("grow", grown, "--children", "1", "--quiet").ExitCode.ShouldBe(0);
        Grown = Sne.DeterministicResults(grown);
    }

    /// <summary>The configuration the run was made from (with <see cref="Settings"/>).</summary>
    public static string Config => Repo.Example("spirals.yaml");

    /// <summary>The pristine run directory (never changed: every case works on a copy).</summary>
    public string Run { get; }

    /// <summary>Three rows to predict (CSV).</summary>
    public string Input { get; }

    /// <summary>sne status of the intact run (its path replaced by RUN).</summary>
    public string Status { get; }

    /// <summary>report.md and metrics.jsonl that sne report writes for the intact run.</summary>
    public string Report { get; }

    /// <summary>sne predict's CSV for <see cref="Input"/>.</summary>
    public string Predictions { get; }

    /// <summary>results.json without wall times.</summary>
    public string Results { get; }

    /// <summary>results.json without wall times after sne grow --children 1.</summary>
    public string Grown { get; }

    /// <summary>A fresh copy of the pristine run directory.</summary>
    public string Copy(string name)
    {
        string target = Path.Combine(_dir.Path, name + "-" + Guid.NewGuid().ToString("N")[..6]);
        foreach (var file in Directory.EnumerateFiles(Run, "*", SearchOption.AllDirectories))
        {
            string to = Path.Combine(target, Path.GetRelativePath(Run, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
        return target;
    }

    /// <summary>What sne report writes that depends only on the run's files (not the PNG encoder).</summary>
    public static string ReportOf(string run) =>
        File.ReadAllText(Path.Combine(run, "report.md")) + "\n---\n" + File.ReadAllText(Path.Combine(run, "metrics.jsonl"));

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// Runs an sne command in this process through its own entry point (<see cref="Host.Commands"/>), capturing stdout and
/// stderr and finding the built plugins through $SNE_PLUGIN_PATH: the same code path as the executable without a
/// process start and a LibTorch load per call (seconds on a loaded 2-core machine).
/// </summary>
public static class SneInProcess
{
    public static SneResult Run(Func<int> command)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var (previousOut, previousError) = (Console.Out, Console.Error);
        string? path = Environment.GetEnvironmentVariable("SNE_PLUGIN_PATH");
        Console.SetOut(output);
        Console.SetError(error);
        Environment.SetEnvironmentVariable("SNE_PLUGIN_PATH", Repo.PluginsDirectory);
        try
        {
            int code = command();
            return new SneResult(code, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(previousOut);
            Console.SetError(previousError);
            Environment.SetEnvironmentVariable("SNE_PLUGIN_PATH", path);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PristineSpiralsRunGroup : ICollectionFixture<PristineSpiralsRun>
{
    public const string Name = "pristine spirals run";
}

/// <summary>
/// Damages each file of a finished run directory in turn and runs the commands that read it: <c>sne status</c>,
/// <c>report</c>, <c>predict</c>, <c>grow --children 1</c> and resuming (<c>sne run CONFIG --out RUN</c>; results.json
/// is removed as well unless it is the damaged file, so resuming really reads the rest). Each case works on a fresh copy
/// of one pristine run and must end either with exit 0 and exactly the intact run's output (the damage is irrelevant,
/// or recovered: a damaged child or parent is made again, deterministically; <c>status</c> may instead report the file
/// as damaged), or with exit 2 or 3 and one line on stderr naming the damaged file — never a stack trace, never output
/// computed from the damaged file.
/// <para>
/// Damages are deterministic: truncate to half, XOR 0xFF three bytes at positions drawn from a generator seeded by the
/// file name, empty, delete. Cost: as separate sne processes the matrix took almost 4 minutes on the shared 2-core
/// machine (a process start with LibTorch costs 1–5 s there), so <c>status</c>, <c>report</c> and <c>predict</c> run
/// in this process through <see cref="SneInProcess"/> (their own code path, milliseconds to a second each), while
/// <c>grow</c> and resuming, which train and start the generic host, stay real processes. The matrix is chosen rather
/// than complete: <c>status</c> sees (almost) every damage of every file; <c>report</c> and <c>predict</c> see every
/// damage of the files they read and one damage of a file they do not; <c>grow</c> and resuming, which recover by
/// regenerating, see one damage of each file they read, rotating the kind. Checkpoints are verified by SHA-256 before
/// anything else, so truncating, emptying and flipping them take the same path — one or two kinds suffice.
/// </para>
/// </summary>
[Collection(PristineSpiralsRunGroup.Name)]
public class RunDirectoryFuzzTests(PristineSpiralsRun pristine)
{
    private static readonly string[] Every = ["truncate", "flip", "empty", "delete"];

    /// <summary>(file, damages, commands) of the matrix; see the class comment for the choice.</summary>
    private static readonly (string File, string[] Damages, string[] Commands)[] Matrix =
    [
        ("results.json", Every, ["status", "report", "predict"]),
        ("results.json", ["truncate"], ["grow"]),
        ("results.json", ["flip", "delete"], ["resume"]),
        ("parent.json", ["truncate", "flip", "delete"], ["status"]),
        ("parent.json", ["truncate"], ["report", "predict", "grow"]),
        ("parent.json", ["delete"], ["resume"]),
        ("parent.ckpt", ["flip", "delete"], ["status", "report"]),
        ("parent.ckpt", ["flip"], ["predict", "resume"]),
        ("parent.ckpt", ["delete"], ["grow"]),
        ("parent.ckpt.sha256", ["flip"], ["status", "report"]),
        ("children/child-000.ckpt", ["truncate", "empty"], ["status", "predict"]),
        ("children/child-000.ckpt", ["flip"], ["report", "grow"]),
        ("children/child-000.ckpt", ["truncate"], ["resume"]),
        ("children/child-001.json", ["truncate", "flip", "empty", "delete"], ["status"]),
        ("children/child-001.json", ["truncate"], ["predict", "grow"]),
        ("children/child-001.json", ["delete"], ["resume"]),
        ("children/child-001.npy", ["truncate", "flip", "delete"], ["status"]),
        ("children/child-001.npy", ["flip"], ["resume"]),
        ("children/child-001.npy", ["truncate"], ["grow"]),
        ("predictions/members.npy", Every, ["report"]),
        ("predictions/members.npy", ["delete"], ["status"]),
        ("predictions/labels.npy", ["flip", "delete"], ["report"]),
        ("predictions/parent.npy", ["empty"], ["status", "report"]),
        ("config.yaml", ["truncate", "flip", "delete"], ["status"]),
        ("config.yaml", ["flip"], ["predict", "report"]),
        ("config.yaml", ["truncate"], ["grow"]),
        ("config.yaml", ["delete"], ["resume"]),
        ("metrics.jsonl", ["delete"], ["status", "report"]),
    ];

    public static IEnumerable<object[]> Cases() =>
        Matrix.SelectMany(m => m.Damages.SelectMany(d => m.Commands.Select(c => new object[] { m.File, d, c })));

    [Trait("Category", "unit")]
    [Fact]
    public void The_matrix_covers_every_file_and_command_without_repeats()
    {
        var cases = Cases().Select(c => string.Join(' ', c)).ToList();
        cases.Distinct().Count().ShouldBe(cases.Count);
        foreach (var command in new[] { "status", "report", "predict", "grow", "resume" })
            cases.Count(c => c.EndsWith(" " + command, StringComparison.Ordinal)).ShouldBeGreaterThanOrEqualTo(5, command);
        foreach (var damage in Every) cases.Count(c => c.Contains($" {damage} ", StringComparison.Ordinal)).ShouldBeGreaterThanOrEqualTo(5, damage);
    }

    [Trait("Category", "e2e")]
    [Theory]
    [MemberData(nameof(Cases))]
    public void A_damaged_run_file_gives_the_intact_result_or_one_line_naming_it(string file, string damage, string command)
    {
        string run = pristine.Copy("case");
        Damage(Path.Combine(run, file), damage);
        if (command == "resume" && file != "results.json") File.Delete(Path.Combine(run, "results.json"));
        string output = Path.Combine(run, "..", Path.GetFileName(run) + ".csv");
        var result = command switch
        {
            "status" => SneInProcess.Run(() => StatusVerb.Execute(run, verbose: false)),
            "report" => SneInProcess.Run(() => ReportVerb.Execute(run, verbose: false)),
            "predict" => SneInProcess.Run(() => PredictVerb.Execute(run, pristine.Input, output, verbose: false)),
            "grow" => Sne.Run("grow", run, "--children", "1", "--quiet"),
            _ => Sne.Run(["run", PristineSpiralsRun.Config, "--out", run, "--quiet", .. PristineSpiralsRun.Settings]),
        };
        string name = Path.GetFileName(file);
        result.Stderr.ShouldNotContain("   at ", customMessage: Case());
        result.Stderr.ShouldNotContain("unexpected failure", customMessage: Case());
        result.Stderr.ShouldNotContain("Unhandled exception", customMessage: Case());
        if (result.ExitCode != 0)
        {
            result.ExitCode.ShouldBeOneOf([2, 3], Case());
            var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            lines.Length.ShouldBe(1, customMessage: Case());
            lines[0].ShouldStartWith("sne: error: ");
            lines[0].ShouldContain(name, customMessage: Case());
            if (command == "predict") File.Exists(output).ShouldBeFalse("predict must not write predictions from a damaged run");
            return;
        }
        switch (command)
        {
            case "status":
                // Unchanged, or the damaged file reported as such (a deleted stage file: that stage pending).
                string shown = result.Stdout.Replace(run, "RUN");
                if (shown == pristine.Status) break;
                if (damage == "delete" && shown.Contains(" pending", StringComparison.Ordinal)) break;
                shown.ShouldContain("damaged: ", customMessage: Case("status differs from the intact run's but reports no damage"));
                shown.ShouldContain(name, customMessage: Case());
                break;
            case "report": PristineSpiralsRun.ReportOf(run).ShouldBe(pristine.Report, customMessage: Case()); break;
            case "predict": File.ReadAllText(output).ShouldBe(pristine.Predictions, customMessage: Case()); break;
            case "grow": Sne.DeterministicResults(run).ShouldBe(pristine.Grown, customMessage: Case()); break;
            default: Sne.DeterministicResults(run).ShouldBe(pristine.Results, customMessage: Case()); break;
        }

        string Case(string? what = null) => $"{file} × {damage} × {command}{(what is null ? "" : ": " + what)}: exit {result.ExitCode}\n{result.Output}";
    }

    /// <summary>Damages <paramref name="path"/> deterministically (the flipped positions depend only on the file's name).</summary>
    private static void Damage(string path, string damage)
    {
        switch (damage)
        {
            case "truncate":
                using (var stream = new FileStream(path, FileMode.Open)) stream.SetLength(stream.Length / 2);
                break;
            case "flip":
                var bytes = File.ReadAllBytes(path);
                var random = new Random(Path.GetFileName(path).Sum(c => c));
                for (int i = 0; i < 3; i++) bytes[random.Next(bytes.Length)] ^= 0xFF;
                File.WriteAllBytes(path, bytes);
                break;
            case "empty":
                File.WriteAllBytes(path, []);
                break;
            default:
                File.Delete(path);
                break;
        }
    }
}
