using System.Text;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// Writes NumPy .npy files (format version 1.0: magic, header dict padded to a multiple of 64 bytes, little-endian
/// C-order data), so predictions can be re-checked with numpy.load. Supports float32 ('&lt;f4') and int64 ('&lt;i8');
/// reads back the float32 files it wrote.
/// </summary>
public static class NpyFile
{
    /// <summary>Writes <paramref name="tensor"/> (float32 or int64, any shape) to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, Tensor tensor)
    {
        using var cpu = tensor.cpu().contiguous();
        string descr = cpu.dtype switch
        {
            ScalarType.Float32 => "<f4",
            ScalarType.Int64 => "<i8",
            _ => throw new ArgumentException($"npy: unsupported dtype {cpu.dtype}"),
        };
        string shape = cpu.shape.Length == 1 ? $"({cpu.shape[0]},)" : "(" + string.Join(", ", cpu.shape) + ")";
        string header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}";
        int total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + (64 - total % 64) % 64) + "\n";
        RunDirectory.WriteAtomic(path, tmp =>
        {
            using var stream = File.Create(tmp);
            stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
            stream.Write(BitConverter.GetBytes((ushort)header.Length));
            stream.Write(Encoding.ASCII.GetBytes(header));
            if (cpu.dtype == ScalarType.Float32) stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(cpu.data<float>().ToArray().AsSpan()));
            else stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(cpu.data<long>().ToArray().AsSpan()));
        });
    }

    /// <summary>
    /// <see cref="Write"/>, then the file's SHA-256 beside it (<c>FILE.sha256</c>, as for checkpoints), so a damaged
    /// prediction file — even one whose damaged values still look like probabilities — is detected where it is read.
    /// <paramref name="faults"/>: the <c>write:NAME</c> points passed on the way (<see cref="RunDirectory.WriteAtomic"/>).
    /// </summary>
    public static void WriteChecksummed(string path, Tensor tensor, Diagnostics.IFaultPoints? faults = null) =>
        RunDirectory.WriteCheckpoint(path, tmp => Write(tmp, tensor), faults);

    /// <summary>Reads a float32 C-order .npy file written by <see cref="Write"/>; throws <see cref="InvalidDataException"/> when it is not one.</summary>
    public static Tensor ReadFloat32(string path)
    {
        var (shape, bytes, offset, count) = Read(path, "<f4", 4);
        var values = new float[count];
        Buffer.BlockCopy(bytes, offset, values, 0, (int)(count * 4));
        return tensor(values, shape);
    }

    /// <summary>Reads an int64 C-order .npy file written by <see cref="Write"/> (e.g. labels).</summary>
    public static Tensor ReadInt64(string path)
    {
        var (shape, bytes, offset, count) = Read(path, "<i8", 8);
        var values = new long[count];
        Buffer.BlockCopy(bytes, offset, values, 0, (int)(count * 8));
        return tensor(values, shape);
    }

    private static (long[] Shape, byte[] Bytes, int Offset, long Count) Read(string path, string descr, int size)
    {
        var bytes = File.ReadAllBytes(path);
        var header = ReadHeader(bytes, path);
        if (header.Descr != descr || header.FortranOrder)
            throw new InvalidDataException($"{path}: expected {descr} in C order, found {header.Descr}{(header.FortranOrder ? " in Fortran order" : "")}");
        long count = header.Shape.Aggregate(1L, (a, b) => a * b);
        if (count < 0 || count > bytes.Length || bytes.Length - header.DataOffset != count * size)
            throw new InvalidDataException($"{path} is truncated or too long: {bytes.Length - header.DataOffset} data bytes, expected {count} values of {descr}");
        return (header.Shape, bytes, header.DataOffset, count);
    }

    /// <summary>
    /// Parses the header of the .npy file <paramref name="bytes"/> (versions 1–3): dtype, order, shape and where the
    /// data starts. Throws <see cref="InvalidDataException"/> naming <paramref name="path"/> when it is not a .npy header.
    /// </summary>
    public static NpyHeader ReadHeader(byte[] bytes, string path)
    {
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY")
            throw new InvalidDataException($"{path} is not a .npy file (no \\x93NUMPY magic)");
        bool wide = bytes[6] >= 2;
        if (wide && bytes.Length < 12) throw new InvalidDataException($"{path} is not a .npy file (truncated header)");
        long length = wide ? BitConverter.ToUInt32(bytes, 8) : BitConverter.ToUInt16(bytes, 8);
        int offset = wide ? 12 : 10;
        if (offset + length > bytes.Length) throw new InvalidDataException($"{path} is truncated: its header ends after {bytes.Length} bytes, expected {offset + length}");
        string header = Encoding.ASCII.GetString(bytes, offset, (int)length);
        string? descr = Field(header, "descr", '\'', '\'');
        string? order = Field(header, "fortran_order", ' ', ',')?.Trim();
        string? shape = Field(header, "shape", '(', ')');
        if (descr is null || order is not ("True" or "False") || shape is null)
            throw new InvalidDataException($"{path} is not a .npy file (header without descr, fortran_order and shape: {Clip(header)})");
        var dims = new List<long>();
        foreach (var d in shape.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!long.TryParse(d, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long n))
                throw new InvalidDataException($"{path} is not a .npy file (shape ({Clip(shape)}) is not a list of sizes)");
            dims.Add(n);
        }
        return new NpyHeader(descr, order == "True", dims.ToArray(), offset + (int)length);
    }

    /// <summary>The text between <paramref name="open"/> and <paramref name="close"/> after 'key': in a header dict, or null.</summary>
    private static string? Field(string header, string key, char open, char close)
    {
        int at = header.IndexOf($"'{key}':", StringComparison.Ordinal);
        if (at < 0) return null;
        int start = header.IndexOf(open, at + key.Length + 3);
        int end = start < 0 ? -1 : header.IndexOf(close, start + 1);
        return end < 0 ? null : header[(start + 1)..end];
    }

    private static string Clip(string text) => text.Length <= 60 ? text.Trim() : text[..57].Trim() + "…";
}

/// <summary>A parsed .npy header: dtype (e.g. '&lt;f4'), order, shape and the offset of the data.</summary>
public sealed record NpyHeader(string Descr, bool FortranOrder, long[] Shape, int DataOffset);
