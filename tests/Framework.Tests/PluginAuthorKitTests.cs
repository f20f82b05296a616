using System.Diagnostics;
using Shouldly;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// The plugin author's path from a checkout, exactly as the README's "Writing a plugin: package, template, test kit"
/// shows it: pack the packages, install the template (into a private hive, so the user's template list is untouched),
/// create a sampler and a metric plugin, build and test them with their generated tests, and run them with sne.
/// </summary>
public class PluginAuthorKitTests
{
    [Trait("Category", "e2e")]
    [Fact]
    public void Packed_template_plugins_build_pass_their_tests_and_run_in_sne()
    {
        // A version of our own, so that the machine's NuGet cache never serves an older copy of the version to the restore.
        string version = "1.1.0-e2e." + Guid.NewGuid().ToString("N")[..8];
        string feed = Path.Combine(Repo.Root, "artifacts", "packages");
        using var dir = new TempDir();
        string hive = Path.Combine(dir.Path, "template-hive");
        try
        {
            Run(Repo.Root, "bash", "sne", "pack", $"-p:Version={version}");
            File.Exists(Path.Combine(feed, $"SubnetworkEnsembles.Abstractions.{version}.nupkg")).ShouldBeTrue();
            File.Exists(Path.Combine(feed, $"SubnetworkEnsembles.Testing.{version}.nupkg")).ShouldBeTrue();

            Run(dir.Path, "dotnet", "new", "install", Path.Combine(Repo.Root, "templates", "sne-plugin"), "--debug:custom-hive", hive);
            foreach (var (name, kind) in new[] { ("MySampler", "sampler"), ("MyMetric", "metric") })
            {
                Run(dir.Path, "dotnet", "new", "sne-plugin", "-n", name, "--kind", kind, "--feed", feed, "--sne-version", version, "--debug:custom-hive", hive);
                string tests = Run(Path.Combine(dir.Path, name), "dotnet", "test", $"{name}.Tests");
                tests.ShouldContain("Passed!", customMessage: tests);
                File.Exists(Path.Combine(dir.Path, name, "plugins", name, name + ".dll")).ShouldBeTrue(tests);
                // Only the plugin: the contracts, TorchSharp and LibTorch come from the host.
                Directory.GetFiles(Path.Combine(dir.Path, name, "plugins", name), "*.dll").Select(Path.GetFileName).ShouldBe([name + ".dll"]);
            }

            string run = Path.Combine(dir.Path, "run");
            var result = Sne.Run("run", Repo.Example("spirals.yaml"), "--out", run,
                "--plugins", Path.Combine(dir.Path, "MySampler", "plugins"), "--plugins", Path.Combine(dir.Path, "MyMetric", "plugins"),
                "--set", "threads=1", "--set", "parent.epochs=2", "--set", "children.count=2", "--set", "children.tuning.epochs=1",
                "--set", "children.sampler={type: my-sampler, sparsity: 0.3}", "--set", "metrics=[accuracy, {type: my-metric, k: 2}]");
            result.ExitCode.ShouldBe(0, result.Output);
            File.ReadAllText(Path.Combine(run, "config.yaml")).ShouldContain("type: my-sampler");
            var ensemble = Sne.Results(run)["ensemble"]!.ToJsonString();
            ensemble.ShouldContain("\"top2_accuracy\"", customMessage: ensemble);
        }
        finally
        {
            foreach (var package in Directory.GetFiles(feed, $"*.{version}.nupkg")) File.Delete(package);
            string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            foreach (var id in new[] { "subnetworkensembles.abstractions", "subnetworkensembles.testing" })
            {
                string cached = Path.Combine(cache, id, version);
                if (Directory.Exists(cached)) Directory.Delete(cached, recursive: true);
            }
        }
    }

    /// <summary>Runs a command in <paramref name="directory"/>; fails the test with its output unless it exits with 0.</summary>
    private static string Run(string directory, string file, params string[] args)
    {
        var start = new ProcessStartInfo(file, args) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in 5 minutes");
        }
        string output = stdout.Result + stderr.Result;
        process.ExitCode.ShouldBe(0, $"{file} {string.Join(' ', args)} in {directory}:\n{output}");
        return output;
    }
}
