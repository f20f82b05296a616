using System.CommandLine;

namespace SubnetworkEnsembles.Host.Verbs;

/// <summary>
/// <c>sne validate CONFIG</c>: everything short of training (<see cref="Commands.Validate"/>), every configured plugin
/// constructed once; exit 0 when valid, 2 for a configuration mistake, 3 when a plugin cannot be loaded or constructed.
/// </summary>
public sealed class ValidateVerb
{
    /// <summary>The verb's command, with its options and action.</summary>
    public Command Command { get; }

    /// <summary>Creates <c>sne validate</c>; its request is read as <paramref name="run"/> reads one.</summary>
    public ValidateVerb(VerbContext context, RunVerb run)
    {
        var o = context.Options;
        Command = new Command("validate", "Check a configuration (YAML, extends:, plugin names, options and constructors, data files and shapes; every sweep point) without training.\n" +
            "Example: sne validate examples/spirals.yaml --set children.count=8")
        { o.Config, o.Set, o.Seed, o.Plugins, o.Verbose };
        Command.SetAction(r => Commands.Validate(run.Request(r)));
    }
}
