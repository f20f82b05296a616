using System.Text;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Host.Pipeline;

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
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY")
            throw new InvalidDataException($"{path} is not a .npy file");
        int headerLength = BitConverter.ToUInt16(bytes, 8);
        string header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        if (!header.Contains($"'descr': '{descr}'", StringComparison.Ordinal) || !header.Contains("'fortran_order': False", StringComparison.Ordinal))
            throw new InvalidDataException($"{path}: expected {descr} in C order, header {header.Trim()}");
        int open = header.IndexOf("'shape': (", StringComparison.Ordinal) + 10;
        var shape = header[open..header.IndexOf(')', open)].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(long.Parse).ToArray();
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (bytes.Length - 10 - headerLength != count * size) throw new InvalidDataException($"{path} is truncated: expected {count} values of {descr}");
        return (shape, bytes, 10 + headerLength, count);
    }
}
