using System.Diagnostics;
using Shouldly;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>TorchSharp 0.107.0 on a system libstdc++ without GLIBCXX_3.4.32 (Debian 12): patched automatically, and
/// a clear error naming the real cause when the unpatched library is used.</summary>
public class LibTorchLoadingTests
{
    private static bool SystemHasGlibcxx3432()
    {
        var ldconfig = Process.Start(new ProcessStartInfo("ldconfig", "-p") { RedirectStandardOutput = true })!;
        string lines = ldconfig.StandardOutput.ReadToEnd();
        ldconfig.WaitForExit();
        string? lib = lines.Split('\n').Where(l => l.Contains("libstdc++.so.6") && l.Contains("x86-64"))
            .Select(l => l[(l.LastIndexOf("=> ", StringComparison.Ordinal) + 3)..].Trim()).FirstOrDefault();
        return lib is not null && File.ReadAllText(lib, System.Text.Encoding.Latin1).Contains("GLIBCXX_3.4.32");
    }

    private static string NuGetOriginal()
    {
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        return Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void The_build_output_is_patched_only_where_needed_and_the_nuget_cache_is_untouched()
    {
        string patched = Path.Combine(Repo.SneDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        bool shimPresent = File.Exists(Path.Combine(Path.GetDirectoryName(patched)!, "libsne-glibcxx-3.4.32-shim.so"));
        shimPresent.ShouldBe(!SystemHasGlibcxx3432());
        // The cache's copy still names no shim: only the build output's copy was rewritten.
        File.ReadAllText(NuGetOriginal(), System.Text.Encoding.Latin1).ShouldNotContain("libsne-glibcxx");
        if (shimPresent) File.ReadAllText(patched, System.Text.Encoding.Latin1).ShouldContain("libsne-glibcxx-3.4.32-shim.so");
    }

    /// <summary>Runs <c>sne validate</c> from a linked copy of the built sne with the original, unpatched LibTorchSharp.</summary>
    private static SneResult ValidateWithoutThePatch(TempDir dir)
    {
        string copy = Path.Combine(dir.Path, "sne");
        // A linked copy of the built sne (cheap: LibTorch is ~1 GB) with the original, unpatched LibTorchSharp.
        var cp = Process.Start("cp", ["-al", Repo.SneDirectory, copy])!;
        cp.WaitForExit();
        cp.ExitCode.ShouldBe(0);
        string native = Path.Combine(copy, "runtimes", "linux-x64", "native");
        File.Delete(Path.Combine(native, "libLibTorchSharp.so"));
        File.Copy(NuGetOriginal(), Path.Combine(native, "libLibTorchSharp.so"));
        File.Delete(Path.Combine(native, "libsne-glibcxx-3.4.32-shim.so"));
        Directory.CreateSymbolicLink(Path.Combine(dir.Path, "plugins"), Repo.PluginsDirectory);
        return Sne.RunIn(Repo.Root, Path.Combine(copy, "sne.dll"), "validate", Repo.Example("spirals.yaml"));
    }

    [Trait("Category", "e2e")]
    [SkippableFact]
    public void Without_the_patch_sne_reports_the_real_cause_in_one_line()
    {
        Skip.If(SystemHasGlibcxx3432(), "this system's libstdc++ has GLIBCXX_3.4.32: TorchSharp's library loads unpatched, so there is no " +
            "failure to report here (The_unpatched_library_loads_where_libstdcxx_is_new_enough runs instead)");
        using var dir = new TempDir();
        var result = ValidateWithoutThePatch(dir);
        result.ExitCode.ShouldBe(3, result.Output);
        result.Stderr.ShouldContain("LibTorch cannot be loaded");
        result.Stderr.ShouldContain("GLIBCXX_3.4.32");
        result.Output.ShouldNotContain("doesn't contain a reference");   // TorchSharp's misleading text, and its trace
        Directory.Exists(Path.Combine(dir.Path, "sne", "cpu")).ShouldBeFalse();     // nor its fallback copy of LibTorch
        result.Stderr.Trim().Split('\n').Length.ShouldBe(1, result.Stderr);
    }

    [Trait("Category", "e2e")]
    [SkippableFact]
    public void The_unpatched_library_loads_where_libstdcxx_is_new_enough()
    {
        Skip.IfNot(SystemHasGlibcxx3432(), "this system's libstdc++ lacks GLIBCXX_3.4.32: the unpatched library cannot load here " +
            "(Without_the_patch_sne_reports_the_real_cause_in_one_line runs instead)");
        using var dir = new TempDir();
        var result = ValidateWithoutThePatch(dir);
        result.ExitCode.ShouldBe(0, result.Output);
    }
}
