using System.CommandLine;
using SubnetworkEnsembles.Host;

// sne — Subnetwork Ensembles from YAML. Commands: run, validate, plugins. Exit codes: see ExitCodes.
var configArgument = new Argument<string>("config") { Description = "The experiment's YAML file, e.g. examples/fashion-mnist-sparse.yaml" };
var outOption = new Option<string?>("--out", "-o") { Description = "Run directory (default: runs/<name>-<time>)" };
var setOption = new Option<string[]>("--set")
{
    Description = "Override a configuration value: --set children.count=8 (repeatable; the value is YAML)",
    AllowMultipleArgumentsPerToken = false,
};
var pluginsOption = new Option<string[]>("--plugins") { Description = "An extra plugin directory (repeatable)" };
var forceOption = new Option<bool>("--force") { Description = "Replace a finished run in --out" };
var verboseOption = new Option<bool>("--verbose", "-v") { Description = "Debug logging; stack traces on errors" };

RunRequest Request(ParseResult r) => new(r.GetValue(configArgument)!, r.GetValue(outOption), r.GetValue(setOption) ?? [],
    r.GetValue(pluginsOption) ?? [], r.GetValue(forceOption), r.GetValue(verboseOption));

var run = new Command("run", "Train the parent, build, tune and evaluate the children, write the run directory.\n" +
    "Example: sne run examples/fashion-mnist-sparse.yaml --set children.count=4 --out runs/quick")
{ configArgument, outOption, setOption, pluginsOption, forceOption, verboseOption };
run.SetAction(r => Commands.Run(Request(r), CancellationToken.None));

var validate = new Command("validate", "Check a configuration (YAML, plugin names, options, data files) without training.\n" +
    "Example: sne validate examples/spirals.yaml")
{ configArgument, setOption, pluginsOption, verboseOption };
validate.SetAction(r => Commands.Validate(Request(r)));

var plugins = new Command("plugins", "List the available plugins with their options and defaults.\nExample: sne plugins --plugins ./my-plugins")
{ pluginsOption, verboseOption };
plugins.SetAction(r => Commands.ListPlugins(r.GetValue(pluginsOption) ?? [], r.GetValue(verboseOption)));

var root = new RootCommand("sne — Subnetwork Ensembles: train a parent, spawn perturbed subnetwork children, ensemble them.")
{ run, validate, plugins };
var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors) Console.Error.WriteLine($"sne: error: {error.Message}");
    Console.Error.WriteLine("Try 'sne --help'.");
    return ExitCodes.ConfigurationError;
}
// Ctrl+C and SIGTERM are handled by the generic host's console lifetime inside `run`.
return parse.Invoke(new InvocationConfiguration { ProcessTerminationTimeout = null });
