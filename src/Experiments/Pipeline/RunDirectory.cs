using System.Text;
using SubnetworkEnsembles.Experiments.Diagnostics;

using SubnetworkEnsembles.Experiments.Plugins;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// The output folder of one run: resolved config, log, checkpoints and results.json. Files are written atomically
/// (temporary file + rename), so a reader never sees half a file. A finished run is never overwritten silently.
/// </summary>
public sealed class RunDirectory
{
    private RunDirectory(string path) => Path = path;

    /// <summary>Absolute path of the folder.</summary>
    public string Path { get; }

    /// <summary>results.json.</summary>
    public string ResultsFile => Combine("results.json");

    /// <summary>The run's log file.</summary>
    public string LogFile => Combine("sne.log");

    /// <summary>The parent's checkpoint (weights and masks).</summary>
    public string ParentCheckpoint => Combine("parent.ckpt");

    /// <summary>The parent stage's metrics, history and times; written last, so its presence means the stage finished.</summary>
    public string ParentResults => Combine("parent.json");

    /// <summary>The parent's training resume point (checksummed); exists only while the parent stage is unfinished.</summary>
    public string ParentTrainingState => Combine("parent.training");

    /// <summary>While a <c>sne grow</c> is unfinished: the child counts it grows from and to ("FROM TO").</summary>
    public string GrowPending => Combine("grow.pending");

    /// <summary>The resolved configuration the run was started with.</summary>
    public string ConfigFile => Combine("config.yaml");

    /// <summary>The trust-region search's table and choice (parent stage, when configured).</summary>
    public string TrustRegionFile => Combine("trust_region.json");

    /// <summary>Checkpoint of child <paramref name="index"/>.</summary>
    public string ChildCheckpoint(int index) => Combine("children", $"child-{index:D3}.ckpt");

    /// <summary>The checkpoint of ensemble member <paramref name="index"/>: a child's, or the parent's for −1 (children.include_parent).</summary>
    public string MemberCheckpoint(int index) => index < 0 ? ParentCheckpoint : ChildCheckpoint(index);

    /// <summary>Child <paramref name="index"/>'s metrics and history; written last, so its presence means the child finished.</summary>
    public string ChildResults(int index) => Combine("children", $"child-{index:D3}.json");

    /// <summary>Child <paramref name="index"/>'s test probabilities, float32 [N, C].</summary>
    public string ChildPredictions(int index) => Combine("children", $"child-{index:D3}.npy");

    /// <summary>Written when child <paramref name="index"/> failed: the reason. Removed when the child is run again.</summary>
    public string ChildFailure(int index) => Combine("children", $"child-{index:D3}.failed");

    /// <summary>
    /// Removes what the stages write (parent, children, predictions, analyses, results), so a new parent never meets children of
    /// an earlier one. Keeps anything else, e.g. the slurm/ scripts and job output of a submission.
    /// </summary>
    private void RemoveStageOutputs()
    {
        foreach (var dir in new[] { "children", "predictions", "analyses" })
            if (Directory.Exists(Combine(dir))) Directory.Delete(Combine(dir), recursive: true);
        foreach (var file in new[] { ResultsFile, ParentResults, ParentCheckpoint, TrustRegionFile, ParentTrainingState, GrowPending })
            if (File.Exists(file)) File.Delete(file);
    }

    /// <summary>Whether a stage has written anything here (parent files or any child's).</summary>
    private static bool HasStageOutputs(RunDirectory run) =>
        File.Exists(run.ParentResults) || File.Exists(run.ParentCheckpoint) || File.Exists(run.ParentTrainingState) ||
        (Directory.Exists(run.Combine("children")) && Directory.EnumerateFileSystemEntries(run.Combine("children")).Any());

    /// <summary>
    /// Deletes temporary files (<c>FILE.tmp-PID</c>) left by a process that was killed mid-write, when that process is
    /// no longer running here. The finished file they were meant to replace is untouched (the rename never happened).
    /// </summary>
    private void RemoveStaleTemporaries()
    {
        if (!Directory.Exists(Path)) return;
        foreach (var file in Directory.EnumerateFiles(Path, "*.tmp-*", SearchOption.AllDirectories))
        {
            string suffix = file[(file.LastIndexOf(".tmp-", StringComparison.Ordinal) + 5)..];
            if (!int.TryParse(suffix, out int pid) || pid == Environment.ProcessId || Directory.Exists($"/proc/{pid}")) continue;
            File.Delete(file);
        }
    }

    /// <summary>Opens an existing run directory (for the child and ensemble stages and for status).</summary>
    public static RunDirectory Open(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (!Directory.Exists(full)) throw new DirectoryNotFoundException($"run directory {full} does not exist (run --stage parent first)");
        Directory.CreateDirectory(System.IO.Path.Combine(full, "children"));
        return new RunDirectory(full);
    }

    /// <summary>A path inside the run directory.</summary>
    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>Whether <paramref name="path"/> holds a finished run (results.json) of exactly <paramref name="resolvedConfig"/>.</summary>
    public static bool IsFinished(string path, string resolvedConfig)
    {
        var run = new RunDirectory(System.IO.Path.GetFullPath(path));
        return File.Exists(run.ResultsFile) && SameConfig(run, resolvedConfig);
    }

    private static bool SameConfig(RunDirectory run, string resolvedConfig) =>
        File.Exists(run.ConfigFile) && File.ReadAllText(run.ConfigFile) == resolvedConfig;

    /// <summary>
    /// Creates a run directory, or continues an unfinished one. <list type="bullet">
    /// <item>A finished run (results.json) is refused unless <paramref name="force"/>, which starts it afresh.</item>
    /// <item>An unfinished run of the same resolved configuration is resumed: its finished parent epochs and children are kept.</item>
    /// <item>An unfinished run of another configuration is refused unless <paramref name="force"/> (never overwritten silently).</item>
    /// </list>
    /// Returns the directory and whether it resumes earlier work.
    /// </summary>
    public static (RunDirectory Run, bool Resumed) CreateOrResume(string path, string resolvedConfig, bool force)
    {
        string full = OutputPaths.CheckDirectory(path, "--out");
        var run = new RunDirectory(full);
        bool finished = File.Exists(run.ResultsFile);
        if (finished && !force) throw new RunDirectoryExistsException(full);
        if (!File.Exists(run.ConfigFile) && !force && HasStageOutputs(run))
            throw new RunDirectoryExistsException(full, $"{full} holds a run's outputs but no config.yaml (deleted or renamed), so it cannot be resumed safely; " +
                "restore config.yaml, choose another --out, or pass --force to start it again");
        bool sameConfig = SameConfig(run, resolvedConfig);
        if (File.Exists(run.ConfigFile) && !sameConfig && !force)
            throw new RunDirectoryExistsException(full, $"{full} holds an unfinished run of a different configuration (its config.yaml); " +
                "resume it with that configuration, choose another --out, or pass --force to replace it");
        bool resume = sameConfig && !force;
        if (!resume) run.RemoveStageOutputs();
        run.RemoveStaleTemporaries();
        Directory.CreateDirectory(run.Combine("children"));
        return (run, resume && (File.Exists(run.ParentTrainingState) || File.Exists(run.ParentResults)));
    }

    /// <summary>
    /// Writes a checkpoint atomically, then its SHA-256 beside it (<c>FILE.sha256</c>), so a damaged or half-copied
    /// checkpoint is detected on load (<see cref="VerifyCheckpoint"/>) and never used. <paramref name="faults"/>: as in <see cref="WriteAtomic"/>.
    /// </summary>
    public static void WriteCheckpoint(string file, Action<string> save, IFaultPoints? faults = null)
    {
        File.Delete(file + ".sha256");
        WriteAtomic(file, save, faults);
        WriteAllTextAtomic(file + ".sha256", Sha256(file) + "\n", faults);
    }

    /// <summary>Whether <paramref name="file"/> exists and matches its recorded SHA-256.</summary>
    public static bool CheckpointIntact(string file)
    {
        string sidecar = file + ".sha256";
        return File.Exists(file) && File.Exists(sidecar) && File.ReadAllText(sidecar).Trim() == Sha256(file);
    }

    /// <summary>
    /// Builds <paramref name="model"/> for the data's shape and loads the verified checkpoint <paramref name="file"/> into it
    /// (on the CPU): TorchSharp's format (the parent, children of an older sne) or a <see cref="SparseCheckpoint"/>. A
    /// compact child comes back compact, or with <paramref name="dense"/> expanded to the dense architecture (removed units
    /// zero; the same function, masked-dense), for code that needs the parent's shapes.
    /// </summary>
    public static Engine.Models.MaskedNetwork LoadModel(PluginFactory plugins, Configuration.PluginSpec model, long[] inputShape, int classes, string file, bool dense = false)
    {
        VerifyCheckpoint(file);
        var network = plugins.Build(model, inputShape, classes, new TorchSharp.torch.Generator(0));   // initial weights: overwritten by the checkpoint
        try
        {
            var plan = SparseCheckpoint.Load(network, file);
            if (!dense || plan is null) return network;
            var expanded = plugins.Build(model, inputShape, classes, new TorchSharp.torch.Generator(0));
            try
            {
                Engine.Models.StructuredCompaction.Expand(network, expanded, plan);
            }
            catch
            {
                expanded.Dispose();
                throw;
            }
            network.Dispose();
            return expanded;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>Throws <see cref="CorruptFileException"/> unless <paramref name="file"/> matches its recorded SHA-256.</summary>
    public static void VerifyCheckpoint(string file)
    {
        if (!File.Exists(file)) throw new CorruptFileException(file, "is missing");
        if (!CheckpointIntact(file))
            throw new CorruptFileException(file, File.Exists(file + ".sha256")
                ? $"fails its SHA-256 check against {System.IO.Path.GetFileName(file)}.sha256 (damaged or truncated); it is not used"
                : $"has no checksum ({System.IO.Path.GetFileName(file)}.sha256); it is not used");
    }

    private static string Sha256(string file)
    {
        using var stream = File.OpenRead(file);
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(stream)).ToLowerInvariant();
    }

    /// <summary>Writes <paramref name="text"/> to <paramref name="file"/> atomically (<paramref name="faults"/>: as in <see cref="WriteAtomic"/>).</summary>
    public static void WriteAllTextAtomic(string file, string text, IFaultPoints? faults = null) =>
        WriteAtomic(file, tmp => File.WriteAllText(tmp, text, new UTF8Encoding(false)), faults);

    /// <summary>
    /// Fills a fresh temporary directory beside <paramref name="directory"/> with <paramref name="write"/>, then puts it in
    /// place of <paramref name="directory"/> (the old one is moved aside and deleted). Processes doing this at once (two
    /// gathers of one run) never delete each other's files: each writes and deletes only its own uniquely named
    /// directories; if another process's directory lands in place first, it is replaced in turn.
    /// </summary>
    public static void WriteDirectoryAtomic(string directory, Action<string> write)
    {
        string unique = Environment.ProcessId + "-" + Guid.NewGuid().ToString("N")[..8];
        string staging = directory + ".tmp-" + unique, aside = directory + ".old-" + unique;
        try
        {
            Directory.CreateDirectory(staging);
            write(staging);
            for (int attempt = 0; ; attempt++)
            {
                try { Directory.Move(directory, aside); }
                catch (DirectoryNotFoundException) { }
                try
                {
                    Directory.Move(staging, directory);
                    return;
                }
                catch (IOException) when (Directory.Exists(directory) && attempt < 20)
                {
                    // Another process put its directory in place between our two moves: move that aside too and retry.
                }
                finally
                {
                    if (Directory.Exists(aside)) Directory.Delete(aside, recursive: true);
                }
            }
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>
    /// Runs <paramref name="write"/> on a temporary file beside <paramref name="file"/>, then renames it into place; between
    /// the two it passes the fault point <c>write:NAME</c> (NAME = the file's name) of <paramref name="faults"/>, if given.
    /// </summary>
    public static void WriteAtomic(string file, Action<string> write, IFaultPoints? faults = null)
    {
        string tmp = file + ".tmp-" + Environment.ProcessId;
        try
        {
            write(tmp);
            if (faults is { Enabled: true }) faults.At("write:" + System.IO.Path.GetFileName(file));
            File.Move(tmp, file, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}

/// <summary>The output directory already holds a finished run.</summary>
public sealed class RunDirectoryExistsException(string path, string message) : SneException(message, ExitCodes.ConfigurationError)
{
    /// <summary>The directory holds a finished run.</summary>
    public RunDirectoryExistsException(string path)
        : this(path, $"{path} already holds a finished run (results.json); choose another --out, add children with 'sne grow', or pass --force to replace it") { }

    /// <summary>The directory.</summary>
    public string Path { get; } = path;
}
