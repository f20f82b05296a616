
namespace SubnetworkEnsembles.Experiments.Configuration;

/// <summary>
/// An experiment as written in YAML (keys in snake_case). Every key has a default; see examples/ and the README.
/// </summary>
public sealed class ExperimentConfig
{
    /// <summary>Name of the experiment; the default run directory is runs/&lt;name&gt;-&lt;time&gt;.</summary>
    public string Name { get; init; } = "experiment";

    /// <summary>
    /// The method's name as it appears in results.json, reports and benchmark tables (a label: what runs is set by the
    /// other keys; examples/baselines/ has one file per baseline method).
    /// </summary>
    public string Method { get; init; } = "subnetwork-ensemble";

    /// <summary>
    /// Costs (results.json "cost") are stated relative to one independent model trained this many epochs on the whole
    /// training split; 0 = parent.epochs.
    /// </summary>
    public int ReferenceEpochs { get; init; }

    /// <summary>The run's seed: every random draw derives from it (and the child index).</summary>
    public long Seed { get; init; }

    /// <summary>
    /// <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>. Settable after binding: <c>sne submit --gpus</c> writes <c>cuda</c> into the
    /// config.yaml its Slurm jobs run, having validated the experiment on the submitting machine as given.
    /// </summary>
    public string Device { get; set; } = "cpu";

    /// <summary>LibTorch intra-op threads (0 = LibTorch's default, one per core).</summary>
    public int Threads { get; init; }

    /// <summary>The dataset plugin (<c>data.dataset</c>, with its options beside it) and how the host splits, normalises and augments it.</summary>
    public DataConfig Data { get; init; } = new();

    /// <summary>The parent's (and so every child's) architecture: a model plugin, e.g. <c>{ type: mlp, hidden: [512, 512] }</c>.</summary>
    public PluginSpec Model { get; init; } = PluginSpec.Named("mlp");

    /// <summary>How the parent is trained.</summary>
    public ParentConfig Parent { get; init; } = new()
    {
        Epochs = 10,
        Optimizer = PluginSpec.Named("sgd"),
        Schedule = PluginSpec.Named("linear-decay"),
    };

    /// <summary>How children are sampled (ϕ), perturbed (ξ) and tuned.</summary>
    public ChildrenConfig Children { get; init; } = new();

    /// <summary>How members' probabilities are combined: <c>mean</c> (of softmax, optionally weighted) or <c>vote</c>.</summary>
    public PluginSpec Combiner { get; init; } = PluginSpec.Named("mean");

    /// <summary>Write the test-set probabilities (predictions/*.npy) so every metric can be recomputed independently.</summary>
    public bool SavePredictions { get; init; } = true;

    /// <summary>
    /// false (default): a child whose training diverges (NaN/Inf loss or weights) is recorded as failed with the reason,
    /// the others continue, and the ensemble is evaluated without it (results.json says so). true: stop the run there.
    /// </summary>
    public bool FailFast { get; init; }

    /// <summary>Monte-Carlo dropout baseline: also evaluate the parent as the mean of this many stochastic passes with dropout on (needs model.dropout &gt; 0); 0 = off.</summary>
    public int McDropout { get; init; }

    /// <summary>
    /// Evaluate the parent and the ensemble on corrupted copies of the test set (Fashion-MNIST-C) as well, and report
    /// cAcc / cNLL / cECE (means over kinds × severities) beside the clean metrics; none (default) skips it.
    /// </summary>
    public CorruptionConfig? Corruptions { get; init; }

    /// <summary>Metrics computed for the parent, every member and the ensemble.</summary>
    public List<PluginSpec> Metrics { get; init; } = [PluginSpec.Named("accuracy"), PluginSpec.Named("nll"), PluginSpec.Named("ece")];

    /// <summary>
    /// Analyses run after the ensemble on the saved parent and members (results.json "analyses", figures in
    /// analyses/NAME/ and the report), e.g. <c>[smoothgrad, { type: perceptual-hash, images: 8 }]</c>; none by default.
    /// </summary>
    public List<PluginSpec> Analyses { get; init; } = [];

    /// <summary>Where plugins are loaded from.</summary>
    public PluginsConfig Plugins { get; init; } = new();

    /// <summary>Problems with these settings, as (key path, message); plugin options are validated separately.</summary>
    public IEnumerable<(string Path, string Message)> Validate()
    {
        if (Device != "cpu" && Device != "cuda" && !Device.StartsWith("cuda:", StringComparison.Ordinal))
            yield return ("device", $"expected cpu, cuda or cuda:N, got '{Device}'");
        if (Threads < 0) yield return ("threads", $"must be ≥ 0 (0 = LibTorch's default), got {Threads}");
        if (string.IsNullOrWhiteSpace(Name) || Name.IndexOfAny(['/', '\\', '\0']) >= 0 || Name is "." or "..")
            yield return ("name", $"must be a non-empty name usable in a directory name, got '{Name}'");
        foreach (var p in Data.Validate()) yield return p;
        foreach (var p in Parent.Validate("parent", minEpochs: Parent.Weights is null ? 1 : 0)) yield return p;
        foreach (var (rule, i) in Parent.Rename.Select((r, i) => (r, i)))
            if (!rule.Contains('=', StringComparison.Ordinal) || rule.StartsWith('='))
                yield return ($"parent.rename[{i}]", $"expected 'old-prefix=new-prefix', got '{rule}'");
        foreach (var p in Children.Validate()) yield return p;
        if (Metrics.Count == 0) yield return ("metrics", "list at least one metric, e.g. [accuracy, nll, ece]");
        string selectBy = Children.SelectBy == SelectionMetric.Nll ? "nll" : "accuracy";
        if (Children.Keep > 0 && Metrics.Count > 0 && !Metrics.Any(m => m.Type == selectBy))
            yield return ("children.select_by", $"model selection ranks children by {selectBy}, which is not among metrics: [{string.Join(", ", Metrics.Select(m => m.Type))}]; add {selectBy} to metrics or choose the other select_by");
        if (Children.Keep > 0 && Children.TrustRegion is { Holdout: TrustRegionHoldout.Separate } region && Data.Validation > 0 && Data.Validation <= region.Samples)
            yield return ("children.trust_region.samples", $"the search's separate holdout of {region.Samples} validation rows must leave rows for model selection " +
                $"(children.keep: {Children.Keep}), but data.validation is {Data.Validation}: lower samples, raise data.validation, or set holdout: shared");
        if ((Children.Keep > 0 || Children.TrustRegion is not null) && Data.Validation == 0)
            yield return ("data.validation", "model selection (children.keep) and the trust-region search score on the validation split: set data.validation > 0");
        if ((Parent.EarlyStopping is not null || Children.Tuning?.EarlyStopping is not null) && Data.Validation == 0)
            yield return ("data.validation", "early stopping watches the validation split: set data.validation > 0");
        if (ReferenceEpochs < 0) yield return ("reference_epochs", $"must be ≥ 0 (0 = parent.epochs), got {ReferenceEpochs}");
        if (string.IsNullOrWhiteSpace(Method)) yield return ("method", "give the method a name, e.g. subnetwork-ensemble");
        if (Children.Start == ChildStart.Scratch && Children.Sampler.Type != "full")
            yield return ("children.sampler", $"children trained from scratch (children.start: scratch) have no parent to take a subnetwork of: use sampler full, got '{Children.Sampler.Type}'");
        if (McDropout < 0) yield return ("mc_dropout", $"must be ≥ 0 (0 = off), got {McDropout}");
        foreach (var (spec, i) in Analyses.Select((a, i) => (a, i)).Where(p => Analyses.Take(p.i).Any(a => a.Type == p.a.Type)))
            yield return ($"analyses[{i}]", $"analysis '{spec.Type}' is listed twice; list each analysis once");
        if (Corruptions is not null)
        {
            foreach (var p in Corruptions.Validate()) yield return p;
        }
    }

    /// <summary>"key: message" from a block's Validate() → ("block.key", "message").</summary>
    internal static (string, string) Split(string block, string message)
    {
        int colon = message.IndexOf(": ", StringComparison.Ordinal);
        return colon > 0 && !message[..colon].Contains(' ') ? ($"{block}.{message[..colon]}", message[(colon + 2)..]) : (block, message);
    }
}

/// <summary>A training stage: epochs, batch size, optimiser and learning-rate schedule.</summary>
public class TrainingConfig
{
    /// <summary>Number of passes over the training split (0 for children = no tuning).</summary>
    public int Epochs { get; init; } = 2;

    /// <summary>Mini-batch size.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>The optimiser plugin (sgd, adam, …) with its options.</summary>
    public PluginSpec Optimizer { get; init; } = PluginSpec.Named("sgd");

    /// <summary>The learning-rate schedule plugin (constant, one-cycle, linear-decay, …) with its options.</summary>
    public PluginSpec Schedule { get; init; } = PluginSpec.Named("one-cycle");

    /// <summary>
    /// Share of the training split this stage trains on, drawn afresh for the stage from its seed (bagging: 0.9 =
    /// a random 90 % subset); 1 = all rows.
    /// </summary>
    public double Subset { get; init; } = 1;

    /// <summary>Draw the stage's rows with replacement (a bootstrap sample of subset × N rows) instead of without.</summary>
    public bool Bootstrap { get; init; }

    /// <summary>Evaluate the validation split every this many epochs (loss, accuracy and the configured metrics per epoch); 0 = never.</summary>
    public int ValidationInterval { get; init; } = 1;

    /// <summary>Stop early on a validation metric and keep the best epoch's weights (null = train every epoch).</summary>
    public EarlyStoppingConfig? EarlyStopping { get; init; }

    /// <summary>Rows this stage trains on out of <paramref name="trainRows"/>.</summary>
    public long Rows(long trainRows) => Subset >= 1 && !Bootstrap ? trainRows : Math.Max(1, (long)Math.Round(Subset * trainRows));

    internal IEnumerable<(string, string)> Validate(string path, int minEpochs)
    {
        if (Epochs < minEpochs) yield return ($"{path}.epochs", $"must be ≥ {minEpochs}, got {Epochs}");
        if (!(Subset > 0 && Subset <= 1)) yield return ($"{path}.subset", $"must be in (0, 1] (the share of training rows), got {Subset}");
        if (BatchSize < 1) yield return ($"{path}.batch_size", $"must be ≥ 1, got {BatchSize}");
        if (ValidationInterval < 0) yield return ($"{path}.validation_interval", $"must be ≥ 0 (0 = never), got {ValidationInterval}");
        if (EarlyStopping is not null) foreach (var p in EarlyStopping.Validate(path, ValidationInterval)) yield return p;
    }
}

/// <summary>The <c>parent:</c> block: training, or weights trained elsewhere (then <c>epochs</c> may be 0).</summary>
public sealed class ParentConfig : TrainingConfig
{
    /// <summary>
    /// Start from these weights instead of a random initialisation: a PyTorch state_dict (.pt/.pth/.bin), a
    /// .safetensors file, or a TorchSharp checkpoint (.ckpt/.dat). Relative to the configuration file. With
    /// <c>epochs: 0</c> the parent is used as it is.
    /// </summary>
    public string? Weights { get; set; }

    /// <summary>Key prefix rules applied to the weights file's keys, first match wins: ["0.=layers.0.", "module.="].</summary>
    public List<string> Rename { get; init; } = [];
}

/// <summary>The <c>corruptions:</c> block: which corruptions, at which severities, from which seed.</summary>
public sealed class CorruptionConfig
{
    /// <summary>Corruption kinds (default: all nine).</summary>
    public List<Engine.Data.Corruption> Kinds { get; init; } = [.. Enum.GetValues<Engine.Data.Corruption>()];

    /// <summary>Severities, each 1 … 5 (default: all five).</summary>
    public List<int> Severities { get; init; } = [1, 2, 3, 4, 5];

    /// <summary>Seed of the corrupted copies (independent of the run's seed, so every run sees the same Fashion-MNIST-C).</summary>
    public long Seed { get; init; }

    internal IEnumerable<(string, string)> Validate()
    {
        if (Kinds.Count == 0) yield return ("corruptions.kinds", "list at least one corruption");
        if (Severities.Count == 0 || Severities.Any(s => s is < 1 or > Engine.Data.Corruptions.Severities))
            yield return ("corruptions.severities", $"each severity must be 1 … {Engine.Data.Corruptions.Severities}, got [{string.Join(", ", Severities)}]");
    }
}

/// <summary>The <c>plugins:</c> block.</summary>
public sealed class PluginsConfig
{
    /// <summary>
    /// Extra plugin directories (relative paths are relative to the config file), searched in addition to the
    /// plugins built with sne and any given with --plugins. A run's config.yaml lists them absolutely, together with
    /// the --plugins folders of the run, so its stages, grow, predict and report find the same plugins.
    /// </summary>
    public List<string> Directories { get; init; } = [];
}
