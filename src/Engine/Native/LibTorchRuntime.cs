using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Native;

/// <summary>LibTorch could not be loaded or the requested device is not available; the message says why.</summary>
public sealed class LibTorchUnavailableException(string message, int exitCode = ExitCodes.RuntimeFailure) : SneException(message, exitCode);

/// <summary>
/// Loads LibTorch once and resolves the configured device, turning TorchSharp's misleading load failure
/// ("doesn't contain a reference to libtorch-cpu-linux-x64") into the real cause reported by the dynamic loader.
/// </summary>
public static class LibTorchRuntime
{
    private static bool _loaded;

    /// <summary>
    /// Makes sure LibTorch's CPU backend is loaded; throws <see cref="LibTorchUnavailableException"/> with the real cause.
    /// The native library beside TorchSharp.dll is loaded first by us, so that a failure is reported with the dynamic
    /// loader's own message — before TorchSharp's fallback prints its trace and copies LibTorch into bin/cpu/.
    /// </summary>
    public static void EnsureLoaded()
    {
        if (_loaded) return;
        if (NativePath() is { } path)
        {
            try { NativeLibrary.Load(path); }
            catch (DllNotFoundException e) { throw new LibTorchUnavailableException("LibTorch cannot be loaded: " + Explain(e)); }
        }
        try { InitializeDeviceType(DeviceType.CPU); }
        catch (Exception e) when (e is NotSupportedException or DllNotFoundException or TypeInitializationException or InvalidOperationException)
        {
            throw new LibTorchUnavailableException("LibTorch cannot be loaded: " + Diagnose());
        }
        _loaded = true;
    }

    /// <summary>
    /// Resolves a configured device name ("cpu", "cuda", "cuda:1"). "cuda" where no CUDA build of LibTorch is
    /// present, or no GPU is visible, is an error, never a silent fall-back to the CPU.
    /// </summary>
    public static Device ResolveDevice(string name)
    {
        EnsureLoaded();
        if (name == "cpu") return CPU;
        if (name == "cuda" || name.StartsWith("cuda:", StringComparison.Ordinal))
        {
            bool available;
            try { available = cuda.is_available(); } catch (Exception) { available = false; }
            if (!available)
                throw new LibTorchUnavailableException(
                    $"device '{name}' was requested but CUDA is not available: this build uses TorchSharp-cpu (LibTorch without CUDA) " +
                    "or no GPU is visible; reference the TorchSharp-cuda-linux package and run on a machine with an NVIDIA driver, or set device: cpu",
                    ExitCodes.ConfigurationError);
            return new Device(name);
        }
        throw new ArgumentException($"unknown device '{name}', expected cpu, cuda or cuda:N");
    }

    /// <summary>Where LibTorchSharp's native library sits beside TorchSharp.dll, or null when it is not there.</summary>
    private static string? NativePath() => Candidates().FirstOrDefault(File.Exists);

    private static string[] Candidates()
    {
        string baseDir = Path.GetDirectoryName(typeof(torch).Assembly.Location) ?? AppContext.BaseDirectory;
        string fileName = OperatingSystem.IsWindows() ? "LibTorchSharp.dll" : OperatingSystem.IsMacOS() ? "libLibTorchSharp.dylib" : "libLibTorchSharp.so";
        string rid = OperatingSystem.IsLinux() ? "linux-x64" : RuntimeInformation.RuntimeIdentifier;
        return [Path.Combine(baseDir, "runtimes", rid, "native", fileName), Path.Combine(baseDir, fileName)];
    }

    /// <summary>Why TorchSharp could not initialise: the loader's message, or where the library was looked for.</summary>
    private static string Diagnose()
    {
        string? path = NativePath();
        if (path is null) return $"LibTorchSharp is not beside TorchSharp.dll (looked in {string.Join(", ", Candidates())}); is the TorchSharp-cpu package referenced?";
        try
        {
            NativeLibrary.Load(path);
            return $"{path} loads, but TorchSharp failed to initialise it";
        }
        catch (DllNotFoundException e) { return Explain(e); }
    }

    /// <summary>The dynamic loader's message on one line, with the remedy when it is the known libstdc++ mismatch.</summary>
    private static string Explain(DllNotFoundException e)
    {
        string cause = e.Message.ReplaceLineEndings(" ").Trim();
        int detail = cause.IndexOf("LD_DEBUG environment variable:", StringComparison.Ordinal);
        if (detail >= 0) cause = cause[(detail + "LD_DEBUG environment variable:".Length)..].Trim();
        if (cause.Contains("GLIBCXX_3.4.32", StringComparison.Ordinal))
            cause += " — the system libstdc++ is older than GCC 13's; install g++ and patchelf and rebuild, so that build/libtorchsharp-compat/apply.sh patches the copy in the build output";
        return cause;
    }
}
