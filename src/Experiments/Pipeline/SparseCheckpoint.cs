using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SubnetworkEnsembles.Engine.Models;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// A child's checkpoint that stores what is there, not what was pruned (children/child-NNN.ckpt). Layout: the 8 ASCII
/// bytes <c>SNESPCK1</c>, an int32 (little-endian) header length, a UTF-8 JSON header, then each tensor's payload in
/// header order. The header holds <c>compaction</c> (per compacted layer <c>dense_units</c> and the units <c>kept</c> —
/// the child's layers are that much smaller — or null) and <c>tensors</c>: name, dtype, shape, encoding, byte length. Encodings, all lossless:
/// <list type="bullet">
/// <item><c>dense</c>: the raw little-endian values (any dtype);</item>
/// <item><c>bitmap</c> (float32 with at least 4 % zeros): ⌈n/8⌉ bytes of a bit per entry (1 = stored, least significant
/// bit first) and the float32 values of the entries that are not 0, in order (a −0.0, which W ⊙ M leaves for a negative
/// pruned weight, is stored as a zero and comes back +0.0: equal in every sum and product the network computes);</item>
/// <item><c>bits</c> (masks, 0/1 values): ⌈n/8⌉ bytes of a bit per entry; <c>ones</c> (an all-ones mask): nothing.</item>
/// </list>
/// So a weight pruned to density d costs 4·d + 1/8 bytes per entry instead of 4, and its mask 1/8 instead of 4. Integrity:
/// the SHA-256 sidecar of <see cref="RunDirectory.WriteCheckpoint"/>. Checkpoints written by an older sne (TorchSharp's
/// own format) still load (<see cref="RunDirectory.LoadModel"/>).
/// </summary>
public static class SparseCheckpoint
{
    private static readonly byte[] Magic = "SNESPCK1"u8.ToArray();

    /// <summary>Above this many bytes of dense state the TorchSharp format is written instead (see <see cref="Save"/>).</summary>
    private const long MaxDenseBytes = 1_500_000_000;

    /// <summary>What a sparse checkpoint holds: the compaction plan (null: dense shapes) and the tensors by name, on the CPU.</summary>
    public sealed record Contents(CompactionPlan? Compaction, IReadOnlyDictionary<string, Tensor> Tensors) : IDisposable
    {
        /// <inheritdoc />
        public void Dispose()
        {
            foreach (var t in Tensors.Values) t.Dispose();
        }
    }

    /// <summary>Whether <paramref name="file"/> starts with this format's signature.</summary>
    public static bool IsSparse(string file)
    {
        using var stream = File.OpenRead(file);
        Span<byte> head = stackalloc byte[8];
        return stream.ReadAtLeast(head, 8, throwOnEndOfStream: false) == 8 && head.SequenceEqual(Magic);
    }

    /// <summary>Writes <paramref name="network"/>'s state dict (parameters, buffers and masks) with <paramref name="compaction"/> to <paramref name="file"/>.</summary>
    public static void Save(MaskedNetwork network, CompactionPlan? compaction, string file)
    {
        // This format reads the file into memory and addresses it with 32-bit offsets: a child whose dense weights pass
        // 1.5 GB is written in TorchSharp's format instead (dense; a compact one at the parent's shape is not possible).
        long denseBytes = network.state_dict().Values.Sum(t => t.numel() * t.element_size());
        if (denseBytes > MaxDenseBytes)
        {
            if (compaction is not null)
                throw new InvalidOperationException($"a compact child of {denseBytes / 1e9:F1} GB of dense weights is beyond the sparse checkpoint's 1.5 GB: run with children.compact: off");
            network.save(file);
            return;
        }
        var masks = network.MaskedLayers.Select(l => l.Name + "_mask").ToHashSet();
        var entries = new JsonArray();
        var payloads = new List<byte[]>();
        foreach (var (name, value) in network.state_dict())
        {
            using var cpu = value.detach().cpu().contiguous();
            var (encoding, bytes) = Encode(cpu, masks.Contains(name));
            payloads.Add(bytes);
            entries.Add(new JsonObject
            {
                ["name"] = name, ["dtype"] = cpu.dtype.ToString(), ["shape"] = new JsonArray(cpu.shape.Select(s => (JsonNode)s).ToArray()),
                ["encoding"] = encoding, ["bytes"] = bytes.Length,
            });
        }
        var header = new JsonObject
        {
            ["format"] = 1,
            ["compaction"] = compaction is null ? null : new JsonObject(compaction.KeptUnits.Select(kv =>
                KeyValuePair.Create(kv.Key, (JsonNode?)new JsonObject
                {
                    ["dense_units"] = compaction.DenseUnits[kv.Key],
                    ["kept"] = new JsonArray(kv.Value.Select(u => (JsonNode)u).ToArray()),
                }))),
            ["tensors"] = entries,
        };
        byte[] headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        using var stream = new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.None);
        stream.Write(Magic);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, headerBytes.Length);
        stream.Write(length);
        stream.Write(headerBytes);
        foreach (var p in payloads) stream.Write(p);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Reads a sparse checkpoint (verify it first); a malformed one throws <see cref="CorruptFileException"/>.</summary>
    public static Contents Read(string file)
    {
        byte[] all = File.ReadAllBytes(file);
        try
        {
            if (all.Length < 12 || !all.AsSpan(0, 8).SequenceEqual(Magic)) throw new FormatException("it does not start with SNESPCK1");
            int headerLength = BinaryPrimitives.ReadInt32LittleEndian(all.AsSpan(8, 4));
            var header = JsonNode.Parse(all.AsSpan(12, headerLength))!.AsObject();
            if ((int?)header["format"] != 1) throw new FormatException($"format {header["format"]} is not 1 (written by a newer sne?)");
            CompactionPlan? plan = header["compaction"] is JsonObject c
                ? new CompactionPlan(c.ToDictionary(kv => kv.Key, kv => kv.Value!["kept"]!.AsArray().Select(u => (long)u!).ToArray()),
                    c.ToDictionary(kv => kv.Key, kv => (long)kv.Value!["dense_units"]!))
                : null;
            var tensors = new Dictionary<string, Tensor>();
            int offset = 12 + headerLength;
            foreach (var entry in header["tensors"]!.AsArray())
            {
                string name = (string)entry!["name"]!;
                var dtype = Enum.Parse<ScalarType>((string)entry["dtype"]!);
                long[] shape = entry["shape"]!.AsArray().Select(s => (long)s!).ToArray();
                int bytes = (int)entry["bytes"]!;
                if (offset + bytes > all.Length) throw new FormatException($"'{name}' runs past the end of the file");
                tensors[name] = Decode(all.AsSpan(offset, bytes), (string)entry["encoding"]!, dtype, shape, name);
                offset += bytes;
            }
            if (offset != all.Length) throw new FormatException($"{all.Length - offset} bytes follow the last tensor");
            return new Contents(plan, tensors);
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException or ArgumentException or NullReferenceException
                                       or IndexOutOfRangeException or OverflowException or System.Runtime.InteropServices.ExternalException)
        {
            throw new CorruptFileException(file, $"is not a readable sparse checkpoint: {e.Message}");
        }
    }

    /// <summary>
    /// Loads <paramref name="file"/> — a sparse checkpoint (a compact child shrinks <paramref name="network"/>, freshly built
    /// with the dense architecture, to its shapes first) or TorchSharp's format (the parent, children of an older sne) —
    /// into <paramref name="network"/>. Verify the file first (<see cref="RunDirectory.VerifyCheckpoint"/>). Returns the
    /// compaction plan (null: dense shapes).
    /// </summary>
    public static CompactionPlan? Load(MaskedNetwork network, string file)
    {
        if (!IsSparse(file))
        {
            network.LoadCheckpoint(file);
            return null;
        }
        using var contents = Read(file);
        if (contents.Compaction is { } plan)
        {
            try
            {
                StructuredCompaction.Shrink(network, plan);
            }
            catch (InvalidOperationException e)
            {
                throw new CorruptFileException(file, $"is a compact child the configured model cannot take: {e.Message}");
            }
        }
        LoadInto(network, contents, file);
        return contents.Compaction;
    }

    /// <summary>Copies <paramref name="contents"/> into <paramref name="network"/> (shaped by the plan already); names and shapes must match exactly.</summary>
    public static void LoadInto(MaskedNetwork network, Contents contents, string file)
    {
        using var _ = no_grad();
        var state = network.state_dict();
        var missing = state.Keys.Except(contents.Tensors.Keys).ToList();
        var extra = contents.Tensors.Keys.Except(state.Keys).ToList();
        if (missing.Count > 0 || extra.Count > 0)
            throw new CorruptFileException(file, $"does not fit the configured model (missing: {string.Join(", ", missing.Take(3))}; " +
                $"unexpected: {string.Join(", ", extra.Take(3))}): was it written for another model?");
        foreach (var (name, target) in state)
        {
            var saved = contents.Tensors[name];
            if (!saved.shape.SequenceEqual(target.shape))
                throw new CorruptFileException(file, $"holds '{name}' of shape [{string.Join(", ", saved.shape)}] where the model has [{string.Join(", ", target.shape)}]");
            target.copy_(saved);
        }
        foreach (var l in network.MaskedLayers) l.RefreshMaskState();
    }

    private static (string Encoding, byte[] Bytes) Encode(Tensor value, bool isMask)
    {
        long n = value.numel();
        if (isMask && value.dtype == ScalarType.Float32)
        {
            float[] m = value.data<float>().ToArray();
            if (m.All(v => v == 1f)) return ("ones", []);
            if (m.All(v => v is 0f or 1f)) return ("bits", Bitmap(m.Length, i => m[i] != 0f));
        }
        if (value.dtype == ScalarType.Float32)
        {
            float[] v = value.data<float>().ToArray();
            int stored = v.Count(x => x != 0f);
            if (stored <= 0.96 * n)
            {
                byte[] bitmap = Bitmap(v.Length, i => v[i] != 0f);
                var bytes = new byte[bitmap.Length + 4 * stored];
                bitmap.CopyTo(bytes, 0);
                int at = bitmap.Length;
                foreach (float x in v)
                {
                    if (x == 0f) continue;
                    BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(at, 4), x);
                    at += 4;
                }
                return ("bitmap", bytes);
            }
        }
        return ("dense", value.bytes.ToArray());
    }

    private static Tensor Decode(ReadOnlySpan<byte> bytes, string encoding, ScalarType dtype, long[] shape, string name)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        int bitmapBytes = (int)((n + 7) / 8);
        switch (encoding)
        {
            case "ones":
                return ones(shape, dtype, CPU);
            case "bits":
                {
                    if (bytes.Length != bitmapBytes) throw new FormatException($"'{name}': {bytes.Length} bytes for {n} bits");
                    var values = new float[n];
                    for (long i = 0; i < n; i++) values[i] = (bytes[(int)(i >> 3)] >> (int)(i & 7) & 1) == 1 ? 1f : 0f;
                    return tensor(values, dtype: ScalarType.Float32, device: CPU).reshape(shape).to(dtype);
                }
            case "bitmap":
                {
                    var values = new float[n];
                    int at = bitmapBytes;
                    for (long i = 0; i < n; i++)
                    {
                        if ((bytes[(int)(i >> 3)] >> (int)(i & 7) & 1) == 0) continue;
                        if (at + 4 > bytes.Length) throw new FormatException($"'{name}': fewer values than its bitmap marks");
                        values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(at, 4));
                        at += 4;
                    }
                    if (at != bytes.Length) throw new FormatException($"'{name}': more values than its bitmap marks");
                    return tensor(values, dtype: ScalarType.Float32, device: CPU).reshape(shape);
                }
            case "dense":
                {
                    var t = empty(shape, dtype, CPU);
                    if (t.bytes.Length != bytes.Length) throw new FormatException($"'{name}': {bytes.Length} bytes for a {dtype} tensor of {n} entries");
                    t.bytes = bytes.ToArray();
                    return t;
                }
            default:
                throw new FormatException($"'{name}' has the unknown encoding '{encoding}'");
        }
    }

    private static byte[] Bitmap(int count, Func<int, bool> set)
    {
        var bits = new byte[(count + 7) / 8];
        for (int i = 0; i < count; i++)
            if (set(i)) bits[i >> 3] |= (byte)(1 << (i & 7));
        return bits;
    }
}
