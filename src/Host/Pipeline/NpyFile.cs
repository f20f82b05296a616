using System.Text;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Host.Pipeline;

/// <summary>
/// Writes NumPy .npy files (format version 1.0: magic, header dict padded to a multiple of 64 bytes, little-endian
/// C-order data), so predictions can be re-checked with numpy.load. Supports float32 ('&lt;f4') and int64 ('&lt;i8').
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
}
