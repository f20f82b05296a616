using System.Reflection;
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
    /// The LibTorch this build carries: "cpu" (TorchSharp-cpu, the default) or "cuda" (TorchSharp-cuda-linux), as chosen
    /// with <c>dotnet build -p:TorchBackend=…</c> and recorded in the engine assembly's metadata.
    /// </summary>
    public static string Backend { get; } = typeof(LibTorchRuntime).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .FirstOrDefault(a => a.Key == "TorchBackend")?.Value ?? "cpu";

    private static string NativePackage => Backend == "cuda" ? "TorchSharp-cuda-linux" : "TorchSharp-cpu";

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
        QuietLibTorchWarnings();
        _loaded = true;
    }

    /// <summary>
    /// LibTorch logs warnings at its WARNING level to stderr from native code, e.g. "Could not initialize NNPACK! Reason:
    /// Unsupported hardware" once per thread and convolution kind on CPUs without NNPACK — dozens of lines per run of a
    /// convolutional network that say nothing the user can act on. Unless <c>TORCH_CPP_LOG_LEVEL</c> is set (then
    /// LibTorch's own reading of it is applied: INFO, WARNING, ERROR or FATAL), only ERROR and above are logged, by
    /// setting c10's exported <c>FLAGS_caffe2_log_level</c> to 2. Where the symbol is missing nothing changes.
    /// </summary>
    private static void QuietLibTorchWarnings()
    {
        string? directory = NativePath() is { } native ? Path.GetDirectoryName(native) : null;
        string fileName = OperatingSystem.IsWindows() ? "c10.dll" : OperatingSystem.IsMacOS() ? "libc10.dylib" : "libc10.so";
        if (directory is null || !NativeLibrary.TryLoad(Path.Combine(directory, fileName), out var c10)) return;
        if (Environment.GetEnvironmentVariable("TORCH_CPP_LOG_LEVEL") is not null)
        {
            if (NativeLibrary.TryGetExport(c10, "_ZN3c1011initLoggingEv", out var initLogging)) InitLogging(initLogging);
            return;
        }
        if (NativeLibrary.TryGetExport(c10, "FLAGS_caffe2_log_level", out var level)) Marshal.WriteInt32(level, 2);
    }

    private static void InitLogging(IntPtr function) => Marshal.GetDelegateForFunctionPointer<NativeAction>(function)();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void NativeAction();

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
                throw new LibTorchUnavailableException($"device '{name}' was requested but CUDA is not available: " + (Backend == "cuda"
                    ? "this build carries the CUDA LibTorch (TorchSharp-cuda-linux) but no GPU is visible; check the NVIDIA driver and " +
                      "CUDA_VISIBLE_DEVICES, or set device: cpu"
                    : "this build carries the CPU LibTorch (TorchSharp-cpu); build with -p:TorchBackend=cuda (./sne: TorchBackend=cuda ./sne …) " +
                      "and run on a machine with an NVIDIA driver, or set device: cpu"),
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
        if (path is null) return $"LibTorchSharp is not beside TorchSharp.dll (looked in {string.Join(", ", Candidates())}); is the {NativePackage} package referenced?";
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
