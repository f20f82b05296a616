using System.Reflection;
using McMaster.NETCore.Plugins;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SubnetworkEnsembles.Abstractions;

namespace SubnetworkEnsembles.Experiments.Plugins;

/// <summary>A plugin found on disk: its YAML name and kind, implementation and options types, and assembly file.</summary>
public sealed record PluginDescriptor(string Name, PluginKind Kind, Type ImplementationType, Type? OptionsType,
    string Description, string AssemblyPath);

/// <summary>A plugin assembly could not be used; the message names the plugin and its assembly. Exit code 3.</summary>
public sealed class PluginLoadException(string message, Exception? inner = null) : SneException(message, ExitCodes.RuntimeFailure, inner);

/// <summary>
/// Discovers plugins in plugin directories with McMaster.NETCore.Plugins. A plugin directory is either one plugin
/// (a folder F holding F.dll) or a folder of such folders; a DLL outside that layout is reported in <see cref="Warnings"/>
/// (<see cref="PluginFolders"/>). Each assembly gets its own load context that shares
/// TorchSharp, the Abstractions and the Microsoft.Extensions abstractions with the host (one TorchSharp per process);
/// its public classes marked <see cref="PluginAttribute"/> become plugins. Names are unique per kind.
/// </summary>
public sealed class PluginCatalog
{
    private static readonly Type[] SharedTypes =
    [
        typeof(PluginAttribute), typeof(TorchSharp.torch), typeof(ILogger), typeof(IServiceProvider),
        typeof(ActivatorUtilitiesConstructorAttribute),
    ];

    private static readonly Dictionary<PluginKind, Type> Contracts = new()
    {
        [PluginKind.Sampler] = typeof(ISubnetworkSampler),
        [PluginKind.Perturbation] = typeof(IPerturbation),
        [PluginKind.Optimizer] = typeof(IOptimizerFactory),
        [PluginKind.Schedule] = typeof(ISchedule),
        [PluginKind.Metric] = typeof(IMetric),
        [PluginKind.Combiner] = typeof(IEnsembleCombiner),
        [PluginKind.Model] = typeof(IModelFactory),
        [PluginKind.Dataset] = typeof(IDatasetSource),
        [PluginKind.Analysis] = typeof(IAnalysis),
    };

    private readonly Dictionary<(PluginKind, string), PluginDescriptor> _byName = [];
    private readonly List<string> _warnings = [];

    /// <summary>
    /// What discovery reported without failing, one line each (also logged as warnings): DLLs that are not loaded because
    /// their folder does not follow the plugin layout, plugins built against another TorchSharp version.
    /// </summary>
    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>Every plugin found, by kind then name.</summary>
    public IReadOnlyList<PluginDescriptor> All => _byName.Values.OrderBy(d => d.Kind).ThenBy(d => d.Name, StringComparer.Ordinal).ToList();

    /// <summary>The contract interface of a plugin kind.</summary>
    public static Type ContractOf(PluginKind kind) => Contracts[kind];

    /// <summary>The plugin named <paramref name="name"/> of <paramref name="kind"/>, or null.</summary>
    public PluginDescriptor? Find(PluginKind kind, string name) => _byName.GetValueOrDefault((kind, name));

    /// <summary>Names known for <paramref name="kind"/>, sorted.</summary>
    public IReadOnlyList<string> NamesOf(PluginKind kind) =>
        _byName.Keys.Where(k => k.Item1 == kind).Select(k => k.Item2).Order(StringComparer.Ordinal).ToList();

    /// <summary>Environment variable naming the plugin allowlist: a file of SHA-256 hashes (hex, one per line, '#' comments).</summary>
    public const string AllowlistVariable = "SNE_PLUGIN_ALLOWLIST";

    /// <summary>
    /// Scans <paramref name="directories"/> (missing ones are an error) and loads every plugin assembly found. With an
    /// allowlist (<c>$SNE_PLUGIN_ALLOWLIST</c>), an assembly whose SHA-256 is not listed is refused before it is loaded.
    /// </summary>
    public static PluginCatalog Discover(IEnumerable<string> directories, ILogger? logger = null)
    {
        var catalog = new PluginCatalog();
        logger ??= Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        var allowlist = ReadAllowlist(Environment.GetEnvironmentVariable(AllowlistVariable));
        foreach (var dir in directories.Select(Path.GetFullPath).Distinct())
        {
            if (!Directory.Exists(dir)) throw new PluginLoadException($"plugin directory '{dir}' does not exist");
            var (assemblies, warnings) = PluginFolders.Scan(dir);
            foreach (var warning in warnings) catalog.Warn(logger, warning);
            foreach (var assemblyPath in assemblies)
            {
                if (allowlist is { } allowed)
                {
                    string hash = Sha256(assemblyPath);
                    if (!allowed.Hashes.Contains(hash))
                        throw new PluginLoadException($"plugin assembly {assemblyPath} (sha256 {hash}) is not in the plugin allowlist {allowed.File}; " +
                            "add its hash there if you trust it (sne plugins --sha256 lists them)");
                }
                catalog.LoadAssembly(assemblyPath, logger);
            }
        }
        return catalog;
    }

    /// <summary>Every plugin assembly in <paramref name="directories"/> with its SHA-256 (for allowlists), without loading any.</summary>
    public static IEnumerable<(string Path, string Sha256)> Hashes(IEnumerable<string> directories) =>
        directories.Select(Path.GetFullPath).Distinct().Where(Directory.Exists).SelectMany(d => PluginFolders.Scan(d).Assemblies).Select(p => (p, Sha256(p)));

    /// <summary>The SHA-256 of a file as 64 lowercase hex digits (how allowlists and results.json name a plugin assembly).</summary>
    public static string Sha256(string file)
    {
        using var stream = File.OpenRead(file);
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(stream)).ToLowerInvariant();
    }

    private static (string File, HashSet<string> Hashes)? ReadAllowlist(string? file)
    {
        if (string.IsNullOrEmpty(file)) return null;
        if (!File.Exists(file)) throw new PluginLoadException($"the plugin allowlist {file} (${AllowlistVariable}) does not exist");
        var hashes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        int line = 0;
        foreach (var raw in File.ReadLines(file))
        {
            line++;
            string text = raw.Split('#')[0].Trim();
            if (text.Length == 0) continue;
            string hash = text.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[0];
            if (hash.Length != 64 || !hash.All(Uri.IsHexDigit))
                throw new PluginLoadException($"{file}:{line}: expected a SHA-256 hash (64 hex digits), got '{hash}'");
            hashes.Add(hash.ToLowerInvariant());
        }
        return (file, hashes);
    }

    private void Warn(ILogger logger, string warning)
    {
        _warnings.Add(warning);
        logger.LogWarning("{Warning}", warning);
    }

    /// <summary>
    /// Registers a plugin class of this process (no folder, no load context): a public class marked
    /// <see cref="PluginAttribute"/> that implements its kind's contract, e.g. <c>catalog.Register&lt;MySampler&gt;()</c>.
    /// Returns this catalog, so registrations chain.
    /// </summary>
    public PluginCatalog Register<TPlugin>() where TPlugin : class => Register(typeof(TPlugin));

    /// <summary>As <see cref="Register{TPlugin}"/> for a <see cref="Type"/>.</summary>
    public PluginCatalog Register(Type pluginType)
    {
        var attribute = pluginType.GetCustomAttribute<PluginAttribute>()
            ?? throw new PluginLoadException($"{pluginType.FullName} is not a plugin: mark it [Plugin(name, kind)]");
        Register(Describe(pluginType, attribute, InProcessLocation(pluginType.Assembly)));
        return this;
    }

    /// <summary>Registers every plugin class of an assembly already loaded in this process (e.g. a referenced plugin project); returns this catalog.</summary>
    public PluginCatalog RegisterAssembly(Assembly assembly)
    {
        var plugins = assembly.GetTypes().Where(t => t.GetCustomAttribute<PluginAttribute>() is not null).ToList();
        if (plugins.Count == 0) throw new PluginLoadException($"assembly {assembly.GetName().Name} contains no public class marked [Plugin(name, kind)]");
        foreach (var type in plugins) Register(type);
        return this;
    }

    /// <summary>Registers every plugin class of the assembly that defines <typeparamref name="T"/> (e.g. a built-in plugin project); returns this catalog.</summary>
    public PluginCatalog RegisterAssemblyOf<T>() => RegisterAssembly(typeof(T).Assembly);

    private static string InProcessLocation(Assembly assembly) =>
        assembly.Location.Length > 0 ? assembly.Location : $"{assembly.GetName().Name} (in process)";

    /// <summary>Loads one plugin assembly and registers its plugin classes.</summary>
    public void LoadAssembly(string assemblyPath, ILogger logger)
    {
        string file = Path.GetFileName(assemblyPath);
        // A plugin built against another TorchSharp still gets the host's (one per process): say so with any failure.
        string torchSharp = PluginFolders.TorchSharpMismatch(PluginFolders.TorchSharpBuiltAgainst(assemblyPath));
        Assembly assembly;
        try
        {
            var loader = PluginLoader.CreateFromAssemblyFile(assemblyPath, SharedTypes, config => config.PreferSharedTypes = true);
            assembly = loader.LoadDefaultAssembly();
        }
        catch (Exception e) when (e is BadImageFormatException or FileLoadException or FileNotFoundException or InvalidOperationException)
        {
            throw new PluginLoadException($"plugin assembly {assemblyPath} cannot be loaded: {e.Message}{torchSharp}", e);
        }

        var contracts = assembly.GetReferencedAssemblies().FirstOrDefault(a => a.Name == typeof(PluginAttribute).Assembly.GetName().Name);
        var hostContracts = typeof(PluginAttribute).Assembly.GetName().Version!;
        if (contracts?.Version is { } built && built.Major != hostContracts.Major)
            throw new PluginLoadException($"plugin assembly {assemblyPath} was built against SubnetworkEnsembles.Abstractions {built}, " +
                $"but this sne provides {hostContracts}; rebuild the plugin against version {hostContracts.Major}.x");

        Type[] types;
        try { types = assembly.GetTypes(); }
        catch (ReflectionTypeLoadException e)
        {
            string missing = string.Join("; ", e.LoaderExceptions.Where(x => x is not null).Select(x => x!.Message).Distinct());
            throw new PluginLoadException($"plugin assembly {assemblyPath} has types that cannot be loaded (a missing dependency?): {missing}{torchSharp}", e);
        }
        if (torchSharp.Length > 0) Warn(logger, $"plugin assembly {assemblyPath} may fail when called{torchSharp}");

        int found = 0;
        foreach (var type in types)
        {
            var attribute = type.GetCustomAttribute<PluginAttribute>();
            if (attribute is null) continue;
            Register(Describe(type, attribute, assemblyPath));
            found++;
        }
        logger.LogDebug("Loaded {Count} plugin(s) from {File}", found, file);
        if (found == 0)
            throw new PluginLoadException($"plugin assembly {assemblyPath} contains no public class marked [Plugin(name, kind)]; " +
                "mark each plugin class, or move non-plugin assemblies out of the plugin directory");
    }

    private static PluginDescriptor Describe(Type type, PluginAttribute attribute, string assemblyPath)
    {
        string where = $"plugin '{attribute.Name}' ({type.FullName} in {assemblyPath})";
        if (!Contracts.TryGetValue(attribute.Kind, out var contract))
            throw new PluginLoadException($"{where} declares kind {attribute.Kind}, which this sne does not know; rebuild it against this sne's Abstractions");
        if (!contract.IsAssignableFrom(type))
            throw new PluginLoadException($"{where} is declared as a {attribute.Kind} but does not implement {contract.Name}");
        if (type.IsAbstract || !type.IsPublic)
            throw new PluginLoadException($"{where} must be a public, non-abstract class");
        if (attribute.OptionsType is { } options && options.GetConstructor(Type.EmptyTypes) is null)
            throw new PluginLoadException($"{where}: options class {options.Name} needs a public parameterless constructor");
        return new PluginDescriptor(attribute.Name, attribute.Kind, type, attribute.OptionsType, attribute.Description, assemblyPath);
    }

    private void Register(PluginDescriptor descriptor)
    {
        if (_byName.TryGetValue((descriptor.Kind, descriptor.Name), out var existing))
            throw new PluginLoadException($"two {descriptor.Kind} plugins are named '{descriptor.Name}': " +
                $"{existing.ImplementationType.FullName} in {existing.AssemblyPath} and {descriptor.ImplementationType.FullName} in {descriptor.AssemblyPath}");
        _byName[(descriptor.Kind, descriptor.Name)] = descriptor;
    }
}
