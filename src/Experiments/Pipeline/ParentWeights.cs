using System.Collections;
using System.Security.Cryptography;
using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Experiments.Results;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// Brings your own parent: loads weights trained elsewhere into the run's parent model, from a PyTorch state_dict
/// (<c>.pt</c>/<c>.pth</c>/<c>.bin</c>, read by TorchSharp.PyBridge without Python), a <c>.safetensors</c> file, or a
/// TorchSharp checkpoint (<c>.ckpt</c>/<c>.dat</c>, e.g. parent.ckpt of another run). Key names can be rewritten by
/// prefix rules ("0.=layers.0."). Every parameter of the model must be provided with the right shape; mask buffers
/// (<c>*.weight_mask</c>) are optional (all ones when absent). Missing, unexpected and mis-shaped keys are reported
/// together, with the model's own key names, as a <see cref="ParentWeightsException"/>.
/// </summary>
public static class ParentWeights
{
    /// <summary>Loads <paramref name="path"/> into <paramref name="model"/>; returns what was loaded (for parent.json).</summary>
    public static ParentWeightsInfo Load(MaskedNetwork model, string path, IReadOnlyList<string> rename)
    {
        if (Directory.Exists(path)) throw new ParentWeightsException($"parent.weights: {path} is a directory, expected a weights file");
        if (!File.Exists(path)) throw new ParentWeightsException($"parent.weights: {path} not found");
        var rules = rename.Select(r => r.Split('=', 2)).Select(p => (From: p[0], To: p.Length > 1 ? p[1] : "")).ToList();
        var expected = model.state_dict();
        string extension = Path.GetExtension(path).ToLowerInvariant();
        Dictionary<string, Tensor> provided;
        try
        {
            provided = extension switch
            {
                ".pt" or ".pth" or ".bin" => PyTorchUnpickler.UnpickleStateDict(path).Cast<DictionaryEntry>()
                    .ToDictionary(e => e.Key.ToString()!, e => e.Value as Tensor ?? throw new ParentWeightsException($"parent.weights: {path}: '{e.Key}' is not a tensor (save model.state_dict(), not the model)")),
                ".safetensors" => Safetensors.LoadStateDict(path),
                _ => ReadTorchSharp(model, path),
            };
        }
        catch (Exception e) when (e is not ParentWeightsException)
        {
            throw new ParentWeightsException($"parent.weights: {path} cannot be read as a {Format(extension)}: {e.Message}");
        }
        var renamed = new Dictionary<string, Tensor>();
        foreach (var (key, value) in provided)
        {
            var rule = rules.FirstOrDefault(r => key.StartsWith(r.From, StringComparison.Ordinal));
            renamed[rule.From is null ? key : rule.To + key[rule.From.Length..]] = value;
        }
        static bool Optional(string key) => key.EndsWith(".weight_mask", StringComparison.Ordinal);
        var missing = expected.Keys.Where(k => !renamed.ContainsKey(k) && !Optional(k)).ToList();
        var unexpected = renamed.Keys.Where(k => !expected.ContainsKey(k)).ToList();
        var misshaped = renamed.Where(kv => expected.TryGetValue(kv.Key, out var t) && !t.shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{kv.Key} is [{string.Join(", ", kv.Value.shape)}], the model's is [{string.Join(", ", expected[kv.Key].shape)}]").ToList();
        if (missing.Count + unexpected.Count + misshaped.Count > 0)
        {
            var parts = new List<string>();
            if (missing.Count > 0) parts.Add($"missing keys: {List(missing)}");
            if (unexpected.Count > 0) parts.Add($"unexpected keys: {List(unexpected)}");
            if (misshaped.Count > 0) parts.Add($"wrong shapes: {List(misshaped)}");
            throw new ParentWeightsException($"parent.weights: {path} does not fit the model ({string.Join("; ", parts)}). " +
                $"The model's keys: {List(expected.Keys.ToList())}. Rename keys with parent.rename, e.g. ['0.=layers.0.'], or change model:");
        }
        using (no_grad())
        {
            foreach (var (key, value) in renamed) expected[key].copy_(value.to(expected[key].dtype));
        }
        foreach (var l in model.MaskedLayers) l.RefreshMaskState();
        foreach (var t in provided.Values) t.Dispose();
        return new ParentWeightsInfo
        {
            Path = Path.GetFullPath(path), Format = Format(extension), Tensors = renamed.Count,
            Sha256 = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))).ToLowerInvariant(),
        };
    }

    private static Dictionary<string, Tensor> ReadTorchSharp(MaskedNetwork model, string path)
    {
        if (SparseCheckpoint.IsSparse(path))
        {
            // A child's sparse checkpoint (children/child-NNN.ckpt): read whole; a compact one has other shapes.
            using var contents = SparseCheckpoint.Read(path);
            if (contents.Compaction is not null)
                throw new ParentWeightsException($"parent.weights: {path} is a compact child (smaller layers than the model): " +
                    "write it at the model's shapes with 'sne export RUN --child I --format safetensors' and use that file");
            return contents.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        }
        // TorchSharp's own format names the model's keys; a non-strict load reports which it filled.
        var loaded = new Dictionary<string, bool>();
        model.load(path, strict: false, loadedParameters: loaded);
        var state = model.state_dict();
        return loaded.Where(kv => kv.Value && state.ContainsKey(kv.Key)).ToDictionary(kv => kv.Key, kv => state[kv.Key].clone());
    }

    private static string Format(string extension) => extension switch
    {
        ".pt" or ".pth" or ".bin" => "PyTorch state_dict",
        ".safetensors" => "safetensors file",
        _ => "TorchSharp checkpoint",
    };

    private static string List(List<string> items) =>
        string.Join(", ", items.Take(12)) + (items.Count > 12 ? $", … ({items.Count} in all)" : "");
}

/// <summary>The parent's weights file cannot be used (missing, unreadable or not matching the model). Exit code 2.</summary>
public sealed class ParentWeightsException(string message) : SneException(message, ExitCodes.ConfigurationError);
