using System.CommandLine;
using SubnetworkEnsembles.Host.Logging;

namespace SubnetworkEnsembles.Host.Verbs;

/// <summary>
/// <c>sne plugins [KIND] [PATTERN]</c>: every plugin (of one kind, whose name matches a glob or contains the pattern)
/// with kind, name, description and assembly, the class's doc comment, then each option with its default and doc text
/// (doc texts from the assembly's XML documentation file, when it has one); or, with --sha256, the
/// SHA-256 of every plugin assembly.
/// </summary>
public sealed class PluginsVerb
{
    /// <summary>The verb's command, with its options and action.</summary>
    public Command Command { get; }

    /// <summary>Creates <c>sne plugins</c> over the shared options of <paramref name="context"/>.</summary>
    public PluginsVerb(VerbContext context)
    {
        var o = context.Options;
        var kind = new Argument<string?>("kind") { Description = "sampler, perturbation, optimizer, schedule, metric, combiner, model, dataset or analysis (all when omitted)", Arity = ArgumentArity.ZeroOrOne };
        var pattern = new Argument<string?>("pattern") { Description = "A name glob or substring, e.g. anneal or 'one-*'", Arity = ArgumentArity.ZeroOrOne };
        var sha = new Option<bool>("--sha256") { Description = "Print the SHA-256 of every plugin assembly (the format of $SNE_PLUGIN_ALLOWLIST) instead" };
        Command = new Command("plugins", "List the available plugins: kind, name, description, assembly, and every option with its default and doc text.\n" +
            "Examples:\n  sne plugins\n  sne plugins perturbation anneal\n  sne plugins --plugins ./my-plugins")
        { kind, pattern, o.Plugins, o.Verbose };
        Command.Options.Add(sha);
        Command.SetAction(r => Execute(r.GetValue(kind), r.GetValue(pattern), r.GetValue(o.Plugins) ?? [], r.GetValue(o.Verbose), r.GetValue(sha)));
    }

    /// <summary>Lists the plugins of the default directories and <paramref name="extraDirectories"/>; exit 2 for an unknown kind or a pattern nothing matches.</summary>
    public static int Execute(string? kind, string? pattern, IReadOnlyList<string> extraDirectories, bool verbose, bool sha256 = false) => CommandErrors.Guard(verbose, () =>

    {
        if (sha256)
        {
            // In the allowlist's format: hash, two spaces, path.
            foreach (var (path, hash) in PluginCatalog.Hashes(Commands.DefaultPluginDirectories().Concat(extraDirectories))) Console.WriteLine($"{hash}  {path}");
            return ExitCodes.Ok;
        }
        Abstractions.PluginKind? wanted = null;
        if (kind is not null)
        {
            var kinds = Enum.GetValues<Abstractions.PluginKind>();
            wanted = kinds.Cast<Abstractions.PluginKind?>().FirstOrDefault(k => string.Equals(k.ToString(), kind.TrimEnd('s'), StringComparison.OrdinalIgnoreCase)
                || string.Equals(k.ToString(), kind, StringComparison.OrdinalIgnoreCase))
                ?? throw new UsageException($"unknown plugin kind '{kind}'; kinds: {string.Join(", ", kinds.Select(k => k.ToString().ToLowerInvariant()))}");
        }
        using var loggerFactory = ConsoleLogging.CreateFactory(new RunRequest("", null, [], [], false, verbose));
        var catalog = PluginCatalog.Discover(Commands.DefaultPluginDirectories().Concat(extraDirectories), loggerFactory.CreateLogger("sne"));
        var match = pattern is null ? null : ChildBuilder.Glob(pattern.Contains('*') || pattern.Contains('?') ? pattern : $"*{pattern}*");
        var shown = catalog.All.Where(d => (wanted is null || d.Kind == wanted) && (match is null || match.IsMatch(d.Name))).ToList();
        if (shown.Count == 0)
            throw new UsageException($"no {(wanted is null ? "" : wanted.ToString()!.ToLowerInvariant() + " ")}plugin matches '{pattern}'; " +
                $"known: {string.Join(", ", catalog.All.Where(d => wanted is null || d.Kind == wanted).Select(d => d.Name))}");
        var documentation = new PluginDocumentation();
        foreach (var d in shown)
        {
            Console.WriteLine($"{d.Kind.ToString().ToLowerInvariant(),-13} {d.Name,-16} {d.Description}  [{Path.GetFileName(d.AssemblyPath)}]");
            foreach (var line in PluginDocumentation.Wrap(documentation.Summary(d.ImplementationType), 90)) Console.WriteLine($"{"",30}{line}");
            if (d.OptionsType is null) continue;
            var defaults = Activator.CreateInstance(d.OptionsType);
            foreach (var p in d.OptionsType.GetProperties().Where(p => p.CanWrite))
            {
                string doc = documentation.Summary(d.OptionsType, p.Name);
                Console.WriteLine($"{"",30}{ConfigNames.Key(p.Name)}: {FormatDefault(p.GetValue(defaults))}{(doc.Length > 0 ? "  — " + doc : "")}");
            }
        }
        return ExitCodes.Ok;
    });

    /// <summary>An option's default as YAML would spell it: null, enum names in kebab case, invariant numbers, [a, b] lists.</summary>
    public static string FormatDefault(object? value) => value switch
    {
        null => "null",
        Enum e => ConfigNames.EnumValue(e),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        System.Collections.IEnumerable list and not string => "[" + string.Join(", ", list.Cast<object?>().Select(FormatDefault)) + "]",
        _ => value.ToString() ?? "",
    };
}
