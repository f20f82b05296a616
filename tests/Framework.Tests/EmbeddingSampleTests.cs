using System.Globalization;
using Shouldly;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// samples/Embedding runs examples/spirals.yaml from C# through the library (built-in plugins registered in process,
/// plus its own <c>entropy</c> metric): its ensemble must equal, bit for bit, what <c>sne run examples/spirals.yaml</c>
/// writes, and its run directory must be one the CLI can read.
/// </summary>
[Trait("Category", "e2e")]
public sealed class EmbeddingSampleTests
{
    private static string SampleDll => Path.Combine(Repo.Root, "samples", "Embedding", "bin", Repo.Configuration, "net10.0", "embedding-sample.dll");

    [Fact]
    public void The_sample_program_gives_exactly_the_numbers_of_sne_run_on_the_same_experiment()
    {
        File.Exists(SampleDll).ShouldBeTrue($"{SampleDll} is not built: build Framework.sln (the sample is part of it)");
        string root = Path.Combine(Path.GetTempPath(), "sne-embedding-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            string cliRun = Path.Combine(root, "cli"), sampleRun = Path.Combine(root, "sample");
            var cli = Sne.Run("run", Repo.Example("spirals.yaml"), "--out", cliRun, "--quiet");
            cli.ExitCode.ShouldBe(0, cli.Output);
            var sample = Sne.RunIn(Repo.Root, SampleDll, sampleRun);
            sample.ExitCode.ShouldBe(0, sample.Output);

            // The printed line: "accuracy A nll N ece E mce M entropy H" (the ensemble's metrics), each value round-trippable ("R").
            var printed = sample.Stdout.Trim().Split(' ');
            (printed.Length % 2).ShouldBe(0, sample.Stdout);
            var values = Enumerable.Range(0, printed.Length / 2).ToDictionary(i => printed[2 * i], i => double.Parse(printed[2 * i + 1], CultureInfo.InvariantCulture));
            values.Keys.ShouldBe(["accuracy", "nll", "ece", "mce", "entropy"], ignoreOrder: true);
            var cliEnsemble = Sne.Results(cliRun)["ensemble"]!;
            foreach (var metric in new[] { "accuracy", "nll", "ece" })
                values[metric].ShouldBe(cliEnsemble[metric]!.GetValue<double>(), $"{metric}: the library run differs from sne run");

            // Every member and the parent agree too, not just the ensemble summary.
            var sampleResults = Sne.Results(sampleRun);
            var cliResults = Sne.Results(cliRun);
            foreach (var metric in new[] { "accuracy", "nll", "ece" })
            {
                sampleResults["parent"]![metric]!.GetValue<double>().ShouldBe(cliResults["parent"]![metric]!.GetValue<double>(), $"parent {metric}");
                for (int i = 0; i < 4; i++)
                    sampleResults["members"]![i]![metric]!.GetValue<double>().ShouldBe(cliResults["members"]![i]![metric]!.GetValue<double>(), $"child {i} {metric}");
            }

            // The in-process metric computed what it says: the mean entropy of the CLI run's ensemble predictions.
            var (shape, probabilities) = NpyReader.ReadFloat(Path.Combine(cliRun, "predictions", "members.npy"));
            long members = shape[0], rows = shape[1], classes = shape[2];
            double entropy = 0;
            for (long n = 0; n < rows; n++)
                for (long c = 0; c < classes; c++)
                {
                    double p = 0;
                    for (long m = 0; m < members; m++) p += probabilities[(m * rows + n) * classes + c];
                    p = Math.Max(p / members, 1e-12);
                    entropy -= p * Math.Log(p);
                }
            values["entropy"].ShouldBe(entropy / rows, 1e-5);
            sampleResults["ensemble"]!["entropy"]!.GetValue<double>().ShouldBe(values["entropy"]);

            // The library's run directory is the CLI's: sne status reads it.
            var status = Sne.Run("status", sampleRun);
            status.ExitCode.ShouldBe(0, status.Output);
            File.ReadAllText(Path.Combine(sampleRun, "config.yaml")).ShouldContain("type: entropy");
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }
}
