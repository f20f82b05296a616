using System.Security.Cryptography;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// A binary file whose last 32 bytes are the SHA-256 of everything before them. Written atomically (temporary file +
/// rename), so a crash or a full disk leaves the previous version intact; verified on every read, so a damaged file
/// is reported and never used.
/// </summary>
public static class ChecksummedFile
{
    private const int HashBytes = 32;

    /// <summary>
    /// Writes what <paramref name="write"/> produces, followed by its SHA-256, atomically to <paramref name="path"/>, passing
    /// the fault point <c>write:NAME</c> of <paramref name="faults"/> before the rename (<see cref="RunDirectory.WriteAtomic"/>).
    /// </summary>
    public static void Write(string path, Action<BinaryWriter> write, Diagnostics.IFaultPoints? faults = null)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true)) write(writer);
        byte[] hash = SHA256.HashData(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        RunDirectory.WriteAtomic(path, tmp =>
        {
            using var file = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None);
            buffer.Position = 0;
            buffer.CopyTo(file);
            file.Write(hash);
            file.Flush(flushToDisk: true);
        }, faults);
    }

    /// <summary>Reads <paramref name="path"/>, verifies its checksum and returns a reader over the payload; throws <see cref="CorruptFileException"/> when it does not match.</summary>
    public static BinaryReader Open(string path)
    {
        byte[] all = File.ReadAllBytes(path);
        if (all.Length < HashBytes) throw new CorruptFileException(path, $"is {all.Length} bytes long, shorter than its checksum");
        var payload = all.AsSpan(0, all.Length - HashBytes);
        if (!SHA256.HashData(payload).AsSpan().SequenceEqual(all.AsSpan(all.Length - HashBytes)))
            throw new CorruptFileException(path, "fails its SHA-256 check (damaged or truncated)");
        return new BinaryReader(new MemoryStream(all, 0, all.Length - HashBytes, writable: false));
    }
}

/// <summary>A file failed its integrity check.</summary>
public sealed class CorruptFileException(string path, string problem) : SneException($"{path} {problem}", ExitCodes.RuntimeFailure)
{
    /// <summary>The file.</summary>
    public string Path { get; } = path;
}
