using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Native;

/// <summary>LibTorch could not be loaded or the requested device is not available; the message says why.</summary>
public sealed class LibTorchUnavailableException(string message) : Exception(message);

/// <summary>
/// Loads LibTorch once and resolves the configured device, turning TorchSharp's misleading load failure
/// ("doesn't contain a reference to libtorch-cpu-linux-x64") into the real cause reported by the dynamic loader.
/// </summary>
public static class LibTorchRuntime
{
    /// <summary>Makes sure LibTorch's CPU backend is loaded; throws <see cref="LibTorchUnavailableException"/> with the real cause.</summary>
    public static void EnsureLoaded()
    {
        try { InitializeDeviceType(DeviceType.CPU); }
        catch (Exception e) when (e is NotSupportedException or DllNotFoundException or TypeInitializationException or InvalidOperationException)
        {
            throw new LibTorchUnavailableException("LibTorch cannot be loaded: " + Diagnose());
        }
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
                    "or no GPU is visible; reference the TorchSharp-cuda-linux package and run on a machine with an NVIDIA driver, or set device: cpu");
            return new Device(name);
        }
        throw new ArgumentException($"unknown device '{name}', expected cpu, cuda or cuda:N");
    }

    /// <summary>The dynamic loader's own message for libLibTorchSharp.so, or a hint where it cannot be found.</summary>
    private static string Diagnose()
    {
        string baseDir = Path.GetDirectoryName(typeof(torch).Assembly.Location) ?? AppContext.BaseDirectory;
        string fileName = OperatingSystem.IsWindows() ? "LibTorchSharp.dll" : OperatingSystem.IsMacOS() ? "libLibTorchSharp.dylib" : "libLibTorchSharp.so";
        string rid = RuntimeInformation.RuntimeIdentifier.StartsWith("linux", StringComparison.Ordinal) ? "linux-x64" : RuntimeInformation.RuntimeIdentifier;
        string[] candidates = [Path.Combine(baseDir, "runtimes", rid, "native", fileName), Path.Combine(baseDir, fileName)];
        string? path = candidates.FirstOrDefault(File.Exists);
        if (path is null) return $"{fileName} is not beside {baseDir} (looked in {string.Join(", ", candidates)}); is the TorchSharp-cpu package referenced?";
        try
        {
            NativeLibrary.Free(NativeLibrary.Load(path));
            return $"{path} loads, but TorchSharp failed to initialise it";
        }
        catch (DllNotFoundException e)
        {
            string cause = e.Message.ReplaceLineEndings(" ").Trim();
            if (cause.Contains("GLIBCXX_3.4.32", StringComparison.Ordinal))
                cause += " — the system libstdc++ is older than GCC 13's; rebuild with g++ and patchelf installed so build/libtorchsharp-compat/apply.sh can patch the copy in the build output";
            return cause;
        }
    }
}
