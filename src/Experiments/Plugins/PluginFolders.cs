using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace SubnetworkEnsembles.Experiments.Plugins;

/// <summary>
/// Where plugin assemblies are in a plugin directory, and what the host says about the files it does not load. A plugin
/// directory is one plugin (a folder F holding F.dll; other DLLs there are its dependencies) or a folder of such
/// folders. A DLL directly in a folder of folders, or in a subfolder S without S.dll, is never loaded: each is reported.
/// </summary>
public static class PluginFolders
{
    /// <summary>
    /// The plugin assemblies of <paramref name="directory"/> (an existing folder), in ordinal order, and one warning per
    /// DLL that is not loaded because its folder does not follow the layout (naming the file and the fix).
    /// </summary>
    public static (IReadOnlyList<string> Assemblies, IReadOnlyList<string> Warnings) Scan(string directory)
    {
        string own = OwnAssembly(directory);
        if (File.Exists(own)) return ([own], []);
        var assemblies = new List<string>();
        var warnings = new List<string>();
        foreach (var stray in DllsIn(directory))
            warnings.Add($"{stray} is not loaded: a plugin directory holds plugin folders named like their assembly " +
                $"(move it to {Path.Combine(directory, Path.GetFileNameWithoutExtension(stray), Path.GetFileName(stray))})");
        foreach (var sub in Directory.GetDirectories(directory).Order(StringComparer.Ordinal))
        {
            string assembly = OwnAssembly(sub);
            if (File.Exists(assembly))
            {
                assemblies.Add(assembly);
                continue;
            }
            var found = DllsIn(sub).ToList();
            if (found.Count > 0)
                warnings.Add($"{string.Join(", ", found)} {(found.Count == 1 ? "is" : "are")} not loaded: plugin folder {sub} has no " +
                    $"{Path.GetFileName(assembly)} (a plugin folder is named like its assembly: rename it to " +
                    $"{string.Join(" or ", found.Select(f => Path.GetFileNameWithoutExtension(f) + "/"))})");
        }
        return (assemblies, warnings);
    }

    /// <summary>
    /// The version of TorchSharp that the assembly at <paramref name="assemblyPath"/> was compiled against (read from its
    /// metadata, without loading it), or null when it does not reference TorchSharp or cannot be read.
    /// </summary>
    public static Version? TorchSharpBuiltAgainst(string assemblyPath)
    {
        try
        {
            using var stream = File.OpenRead(assemblyPath);
            using var pe = new PEReader(stream);
            if (!pe.HasMetadata) return null;
            var metadata = pe.GetMetadataReader();
            foreach (var handle in metadata.AssemblyReferences)
            {
                var reference = metadata.GetAssemblyReference(handle);
                if (metadata.GetString(reference.Name) == TorchSharpName) return reference.Version;
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or BadImageFormatException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>The TorchSharp version this sne ships (the one every plugin shares).</summary>
    public static Version HostTorchSharp { get; } = typeof(TorchSharp.torch).Assembly.GetName().Version!;

    /// <summary>
    /// "; it was built against TorchSharp B, but this sne ships TorchSharp H: rebuild it against TorchSharp H" when
    /// <paramref name="builtAgainst"/> differs from <see cref="HostTorchSharp"/>; "" otherwise (or when unknown).
    /// </summary>
    public static string TorchSharpMismatch(Version? builtAgainst) =>
        builtAgainst is null || builtAgainst == HostTorchSharp ? ""
            : $"; it was built against TorchSharp {builtAgainst}, but this sne ships TorchSharp {HostTorchSharp}: rebuild it against TorchSharp {Short(HostTorchSharp)}";

    private const string TorchSharpName = "TorchSharp";

    private static string Short(Version v) => v.Revision <= 0 ? v.ToString(3) : v.ToString();

    private static string OwnAssembly(string folder) => Path.Combine(folder, Path.GetFileName(folder) + ".dll");

    private static IEnumerable<string> DllsIn(string folder) =>
        Directory.GetFiles(folder, "*.dll").Where(f => f.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal);
}
