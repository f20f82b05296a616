using System.Text.Json;
using System.Text.Json.Nodes;
using SubnetworkEnsembles.Experiments.Results;
using TorchSharp;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// Reads the files of a run directory and validates them where they are read, so that every command (report, grow,
/// predict, status, resume) either gets what the stages wrote or a <see cref="CorruptFileException"/> naming the file
/// and what was expected — never a parser's stack trace, and never numbers computed from a damaged file. JSON files are
/// checked against the keys their readers use (<see cref="JsonShape"/>); probability files must be finite, in [0, 1],
/// with rows summing to 1; label files must hold class indices; a .npy with a SHA-256 sidecar (FILE.sha256, written by
/// <see cref="NpyFile.WriteChecksummed"/>) must match it.
/// </summary>
public static class RunFiles
{
    /// <summary>The keys of results.json that report, predict and the benchmark tables read (checked by <see cref="ExperimentResults.Read"/>).</summary>
    internal static readonly string[] ResultsShape =
    [
        "name:string", "data.test:int", "parent:object", "parent.history?[].epoch:int", "parent.history?[].loss:number?",
        "members[].index:int", "members[].history?[].epoch:int", "members[].history?[].loss:number?",
        "ensemble.members:int", "ensemble.combiner:string", "ensemble.member_indices[]:int", "ensemble.pairwise?.*[][]:number?",
        "trust_region?.table[].sigma:number", "corrupted?.parent:object", "corrupted?.ensemble:object", "seconds?:object",
        "cost?.epochs.parent:int", "cost?.epochs.children:int", "cost?.training_flops.total:number", "cost?.parameters.ensemble:number",
        "cost?.parameters.ensemble_nonzero:number", "cost?.inference_flops_per_sample.relative_to_independent:number", "cost?.forward_flops_per_sample:number",
        "analyses?[].name:string", "analyses?[].tables?[].values[][]:number?", "analyses?[].figures?[].file:string",
    ];

    /// <summary>The keys of parent.json that the ensemble stage reads.</summary>
    internal static readonly string[] ParentShape = ["seconds.data:number", "seconds.training:number", "history[].epoch:int", "history[].loss:number?"];

    /// <summary>The keys of children/child-NNN.json that the ensemble stage reads.</summary>
    internal static readonly string[] ChildShape = ["index:int", "seconds:number", "history[].epoch:int", "history[].loss:number?"];

    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads a JSON object from <paramref name="path"/>; throws <see cref="CorruptFileException"/> when it is missing, empty or not JSON.</summary>
    public static JsonObject ReadJson(string path)
    {
        if (!File.Exists(path)) throw new CorruptFileException(path, "is missing");
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length == 0) throw new CorruptFileException(path, "is empty, expected a JSON object");
        try
        {
            // JsonNode decodes property names lazily: invalid UTF-8 (a damaged byte) would surface later, anywhere.
            _ = StrictUtf8.GetCharCount(bytes);
        }
        catch (System.Text.DecoderFallbackException e)
        {
            throw new CorruptFileException(path, $"is not valid UTF-8 text ({e.Message.TrimEnd('.')}): damaged");
        }
        try
        {
            return JsonNode.Parse(bytes) as JsonObject ?? throw new CorruptFileException(path, "is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new CorruptFileException(path, $"is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): damaged or truncated");
        }
        catch (InvalidOperationException e)
        {
            throw new CorruptFileException(path, $"is not valid JSON ({e.Message})");
        }
    }

    /// <summary>parent.json of <paramref name="run"/>, with the keys the ensemble stage reads.</summary>
    public static ParentResult ReadParentResults(RunDirectory run) => ParentResult.Read(run.ParentResults);

    /// <summary>children/child-NNN.json, which must describe child <paramref name="index"/> (and hold <paramref name="scoreKey"/> when selection needs it).</summary>
    public static MemberResult ReadChildResults(RunDirectory run, int index, string? scoreKey = null) => MemberResult.Read(run.ChildResults(index), index, scoreKey);

    /// <summary>
    /// Reads probabilities float32 [<paramref name="rows"/>, <paramref name="classes"/>] (or [M, rows, classes] with
    /// <paramref name="stacked"/>; −1: any size): finite, in [0, 1], every row summing to 1 (± 1e-3).
    /// </summary>
    public static Tensor ReadProbabilities(string path, long rows = -1, long classes = -1, bool stacked = false)
    {
        var probabilities = ReadNpy(path, NpyFile.ReadFloat32);
        try
        {
            long[] shape = probabilities.shape;
            long[] expected = stacked ? [-1, rows, classes] : [rows, classes];
            if (shape.Length != expected.Length || shape.Zip(expected).Any(p => p.Second >= 0 && p.First != p.Second) || shape.Any(d => d == 0))
                throw new CorruptFileException(path, $"has shape [{string.Join(", ", shape)}], expected probabilities [{string.Join(", ", expected.Select(Dim))}]");
            using var scope = NewDisposeScope();
            if (!probabilities.isfinite().all().ToBoolean()) throw new CorruptFileException(path, "holds non-finite values (NaN or ±inf), expected probabilities");
            if (probabilities.lt(0).any().ToBoolean() || probabilities.gt(1).any().ToBoolean())
                throw new CorruptFileException(path, "holds values outside [0, 1], expected probabilities");
            if (probabilities.sum(-1).sub(1).abs().gt(1e-3).any().ToBoolean())
                throw new CorruptFileException(path, "has rows that do not sum to 1, expected probabilities");
            return probabilities;
        }
        catch
        {
            probabilities.Dispose();
            throw;
        }
    }

    /// <summary>Reads class labels int64 [<paramref name="rows"/>] in 0 … <paramref name="classes"/> − 1.</summary>
    public static Tensor ReadLabels(string path, long rows, long classes)
    {
        var labels = ReadNpy(path, NpyFile.ReadInt64);
        using var scope = NewDisposeScope();
        if (labels.shape is not [var n] || (rows >= 0 && n != rows) || n == 0)
        {
            labels.Dispose();
            throw new CorruptFileException(path, $"has shape [{string.Join(", ", labels.shape)}], expected labels [{Dim(rows)}]");
        }
        if (labels.lt(0).any().ToBoolean() || labels.ge(classes).any().ToBoolean())
        {
            labels.Dispose();
            throw new CorruptFileException(path, $"holds labels outside 0 … {classes - 1}");
        }
        return labels;
    }

    /// <summary>What is wrong with the finished parent stage's files (parent.json, parent.ckpt, predictions/parent.npy); null when they are intact.</summary>
    public static string? ParentDamage(RunDirectory run) => Damage(() =>
    {
        ReadParentResults(run);
        RunDirectory.VerifyCheckpoint(run.ParentCheckpoint);
        ReadProbabilities(run.Combine("predictions", "parent.npy")).Dispose();
    });

    /// <summary>What is wrong with child <paramref name="index"/>'s files (json, npy, ckpt); null when they are intact.</summary>
    public static string? ChildDamage(RunDirectory run, int index) => Damage(() =>
    {
        ReadChildResults(run, index);
        ReadProbabilities(run.ChildPredictions(index)).Dispose();
        RunDirectory.VerifyCheckpoint(run.ChildCheckpoint(index));
    });

    private static string? Damage(Action read)
    {
        try
        {
            read();
            return null;
        }
        catch (CorruptFileException e)
        {
            return e.Message;
        }
    }

    private static Tensor ReadNpy(string path, Func<string, Tensor> read)
    {
        if (!File.Exists(path)) throw new CorruptFileException(path, "is missing");
        if (File.Exists(path + ".sha256")) RunDirectory.VerifyCheckpoint(path);
        try
        {
            return read(path);
        }
        catch (InvalidDataException e)
        {
            throw new CorruptFileException(path, e.Message.StartsWith(path, StringComparison.Ordinal) ? e.Message[path.Length..].TrimStart(':', ' ') : e.Message);
        }
    }

    private static string Dim(long d) => d < 0 ? "…" : d.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
