using System.CommandLine;
using SubnetworkEnsembles.Host;
using SubnetworkEnsembles.Host.Distributed;
using SubnetworkEnsembles.Experiments.Pipeline;

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
var stageOption = new Option<Stage>("--stage") { Description = "Run one stage against --out RUN_DIR: parent, child (with --index), ensemble; default all", DefaultValueFactory = _ => Stage.All };
var seedOption = new Option<long?>("--seed") { Description = "The run's seed (overrides 'seed:' and --set seed=…)" };
var quietOption = new Option<bool>("--quiet", "-q") { Description = "Only warnings and errors on the console (the run's log file keeps everything)" };
var logFormatOption = new Option<LogFormat>("--log-format") { Description = "Console log lines as text or json", DefaultValueFactory = _ => LogFormat.Text };
var progressOption = new Option<ProgressMode>("--progress") { Description = "auto: a live display on a terminal, plain log lines otherwise; live; plain", DefaultValueFactory = _ => ProgressMode.Auto };
var intervalOption = new Option<double>("--progress-interval") { Description = "Seconds between plain progress lines within an epoch", DefaultValueFactory = _ => 30 };
var indexOption = new Option<int?>("--index") { Description = "The child of --stage child (default: $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX)" };

RunRequest Request(ParseResult r) => new(r.GetValue(configArgument)!, r.GetValue(outOption), r.GetValue(setOption) ?? [],
    r.GetValue(pluginsOption) ?? [], r.GetValue(forceOption), r.GetValue(verboseOption), r.GetValue(stageOption), r.GetValue(indexOption),
    r.GetValue(seedOption), r.GetValue(quietOption), r.GetValue(logFormatOption), r.GetValue(progressOption), r.GetValue(intervalOption));

var run = new Command("run", "Train the parent, build, tune and evaluate the children, write the run directory (or every point of a sweep:).\n" +
    "Re-running on an unfinished --out resumes it; a finished one is kept unless --force.\n" +
    "Examples:\n  sne run examples/fashion-mnist-sparse.yaml --set children.count=4 --out runs/quick\n" +
    "  SNE__PARENT__EPOCHS=5 sne run examples/spirals.yaml --seed 3 --quiet\n" +
    "  sne run examples/sweep-sparsity.yaml --out runs/sweep      (writes runs/sweep/sweep.{csv,md})\n" +
    "Stages: sne run C --out R --stage parent; sne run R/config.yaml --out R --stage child --index 3; … --stage ensemble\n" +
    "Exit codes: 0 ok, 2 usage or configuration error, 3 runtime failure, 130 interrupted (resumable)")
{ configArgument, outOption, setOption, seedOption, pluginsOption, forceOption, verboseOption, quietOption, logFormatOption, progressOption, intervalOption, stageOption, indexOption };
run.SetAction(r => Commands.Run(Request(r), CancellationToken.None));

var validate = new Command("validate", "Check a configuration (YAML, extends:, plugin names, options, data files and shapes; every sweep point) without training.\n" +
    "Example: sne validate examples/spirals.yaml --set children.count=8")
{ configArgument, setOption, seedOption, pluginsOption, verboseOption };
validate.SetAction(r => Commands.Validate(Request(r)));

var kindArgument = new Argument<string?>("kind") { Description = "sampler, perturbation, optimizer, schedule, metric or combiner (all when omitted)", Arity = ArgumentArity.ZeroOrOne };
var patternArgument = new Argument<string?>("pattern") { Description = "A name glob or substring, e.g. anneal or 'one-*'", Arity = ArgumentArity.ZeroOrOne };
var plugins = new Command("plugins", "List the available plugins: kind, name, description, assembly, and every option with its default and doc text.\n" +
    "Examples:\n  sne plugins\n  sne plugins perturbation anneal\n  sne plugins --plugins ./my-plugins")
{ kindArgument, patternArgument, pluginsOption, verboseOption };
var shaOption = new Option<bool>("--sha256") { Description = "Print the SHA-256 of every plugin assembly (the format of $SNE_PLUGIN_ALLOWLIST) instead" };
plugins.Options.Add(shaOption);
plugins.SetAction(r => Commands.ListPlugins(r.GetValue(kindArgument), r.GetValue(patternArgument), r.GetValue(pluginsOption) ?? [], r.GetValue(verboseOption), r.GetValue(shaOption)));

var slurmOption = new Option<bool>("--slurm") { Description = "Submit to Slurm with sbatch (the only scheduler supported)" };
var partitionOption = new Option<string?>("--partition") { Description = "Slurm partition" };
var timeOption = new Option<string?>("--time") { Description = "Slurm time limit per job, e.g. 01:00:00" };
var cpusOption = new Option<int>("--cpus") { Description = "CPUs per job (--cpus-per-task)", DefaultValueFactory = _ => 1 };
var submit = new Command("submit", "Submit the parent, a job array of children and the gather job to Slurm.\n" +
    "Example: sne submit examples/spirals.yaml --slurm --cpus 1 --out /shared/runs/spirals")
{ configArgument, outOption, setOption, pluginsOption, forceOption, verboseOption, slurmOption, partitionOption, timeOption, cpusOption };
submit.SetAction(r => Commands.Guard(r.GetValue(verboseOption), () =>
{
    if (!r.GetValue(slurmOption)) throw new UsageException("say where to submit: --slurm");
    using var logging = Microsoft.Extensions.Logging.LoggerFactory.Create(_ => { });
    var (parent, children, ensemble) = SlurmSubmitter.Submit(Request(r), new SlurmOptions(r.GetValue(partitionOption), r.GetValue(timeOption), Math.Max(1, r.GetValue(cpusOption))),
        logging.CreateLogger("sne"));
    Console.WriteLine($"parent {parent}");
    Console.WriteLine($"children {children}");
    Console.WriteLine($"ensemble {ensemble}");
    return ExitCodes.Ok;
}));

var runDirArgument = new Argument<string>("run-dir") { Description = "A run directory" };
var status = new Command("status", "Show the state of the parent, every child and the ensemble of a run.\nExample: sne status runs/spirals")
{ runDirArgument, verboseOption };
status.SetAction(r => Commands.Status(r.GetValue(runDirArgument)!, r.GetValue(verboseOption)));

var childrenOption = new Option<int>("--children", "-n") { Description = "How many children to add", Required = true };
var grow = new Command("grow", "Add children to an existing ensemble (continuing the seed and partition sequence) and evaluate it again.\n" +
    "Example: sne grow runs/spirals --children 4")
{ runDirArgument, childrenOption, verboseOption, quietOption, logFormatOption, progressOption };
grow.SetAction(r => Commands.Grow(r.GetValue(runDirArgument)!, r.GetValue(childrenOption),
    new RunRequest("", null, [], [], false, r.GetValue(verboseOption), Quiet: r.GetValue(quietOption), LogFormat: r.GetValue(logFormatOption), Progress: r.GetValue(progressOption)),
    CancellationToken.None));

var inputOption = new Option<string>("--input", "-i") { Description = "Rows to predict: IDX (.gz), .npy or CSV, in the dataset's units (Fashion-MNIST pixels 0…255)", Required = true };
var outputOption = new Option<string?>("--output") { Description = "The CSV to write (default: RUN_DIR/predictions/<input name>.csv)" };
var predict = new Command("predict", "Predict with a finished run's ensemble: per row the class probabilities, predicted class, predictive entropy and member disagreement.\n" +
    "Example: sne predict runs/fashion --input /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --output predictions.csv")
{ runDirArgument, inputOption, outputOption, verboseOption };
predict.SetAction(r => Commands.Predict(r.GetValue(runDirArgument)!, r.GetValue(inputOption)!, r.GetValue(outputOption), r.GetValue(verboseOption)));

var report = new Command("report", "Write report.md, a self-contained report.html, figures (report/*.png), metrics.jsonl and TensorBoard events for a finished run.\n" +
    "Example: sne report runs/fashion-mnist-sparse-20261125-101500")
{ runDirArgument, verboseOption };
report.SetAction(r => Commands.Report(r.GetValue(runDirArgument)!, r.GetValue(verboseOption)));

var suiteArgument = new Argument<string>("suite") { Description = "default (the tables of docs/RESULTS.md, about 1.5 h on 2 cores) or smoke (every table on tiny data, a few minutes)", DefaultValueFactory = _ => "default" };
var seedsOption = new Option<int?>("--seeds") { Description = "Seeds per table (default: 3, and 2 for T2/T5; smoke: 1)" };
var tablesOption = new Option<string[]>("--tables") { Description = "Only these tables, e.g. --tables T1 --tables T3 (default: all)" };
var examplesOption = new Option<string?>("--examples") { Description = "The folder holding examples/ (default: found upward from the current directory)" };
var bench = new Command("bench", "Run a benchmark suite (T1–T6 of SPEC §2–§5 with the baselines) over seeds and write T*.csv, T*.md and suite.md with mean ± s.e.\n" +
    "Finished runs are kept, so an interrupted suite resumes.\n" +
    "Examples:\n  sne bench smoke --out runs/bench-smoke\n  sne bench default --out runs/bench --tables T1 --seeds 3")
{ suiteArgument, outOption, seedsOption, tablesOption, examplesOption, pluginsOption, verboseOption };
bench.SetAction(r => Commands.Bench(r.GetValue(suiteArgument)!, r.GetValue(outOption), r.GetValue(seedsOption), r.GetValue(tablesOption) ?? [],
    r.GetValue(examplesOption), r.GetValue(pluginsOption) ?? [], r.GetValue(verboseOption), CancellationToken.None));

var root = new RootCommand("sne — Subnetwork Ensembles: train a parent, spawn perturbed subnetwork children, ensemble them.")
{ run, validate, plugins, submit, status, grow, predict, report, bench };
var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors) Console.Error.WriteLine($"sne: error: {error.Message}");
    Console.Error.WriteLine("Try 'sne --help'.");
    return ExitCodes.ConfigurationError;
}
// Ctrl+C and SIGTERM are handled by the generic host's console lifetime inside `run`.
return parse.Invoke(new InvocationConfiguration { ProcessTerminationTimeout = null });
