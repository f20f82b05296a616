using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Datasets.Internal;

/// <summary>
/// A NumPy .npy array (format 1.0 to 3.0): magic "\x93NUMPY", version, header length, a Python-dict header
/// {'descr', 'fortran_order', 'shape'}, then the data. Reads little-endian float32/float64/uint8/int32/int64 in C order.
/// </summary>
public sealed partial class NpyArray
{
    private NpyArray(string path, long[] shape, string dtype, byte[] data) => (Path, Shape, DType, _data) = (path, shape, dtype, data);

    private readonly byte[] _data;

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary>The array's shape.</summary>
    public long[] Shape { get; }

    /// <summary>The element type: "f4", "f8", "u1", "i4" or "i8".</summary>
    public string DType { get; }

    /// <summary>True for the integer types (u1, i4, i8).</summary>
    public bool IsInteger => DType is "u1" or "i4" or "i8";

    /// <summary>Reads <paramref name="path"/>; throws <see cref="DataException"/> for a missing or malformed file or an unsupported layout.</summary>
    public static NpyArray Read(string path)
    {
        if (!File.Exists(path)) throw new DataException(path, "file not found");
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new DataException(path, $"cannot be read ({e.Message})", e); }
        ReadOnlySpan<byte> magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(magic)) throw new DataException(path, "is not a .npy file (no \\x93NUMPY magic)");
        int major = bytes[6];
        int headerStart = major == 1 ? 10 : 12;
        if (major is < 1 or > 3 || bytes.Length < headerStart) throw new DataException(path, $"has .npy format version {major}.{bytes[7]}, expected 1.0, 2.0 or 3.0");
        long headerLength = major == 1 ? BitConverter.ToUInt16(bytes, 8) : BitConverter.ToUInt32(bytes, 8);
        if (headerStart + headerLength > bytes.Length) throw new DataException(path, "is truncated: the header is longer than the file");
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(bytes, headerStart, (int)headerLength);

        var descr = DescrPattern().Match(header);
        var fortran = FortranPattern().Match(header);
        var shapeMatch = ShapePattern().Match(header);
        if (!descr.Success || !fortran.Success || !shapeMatch.Success) throw new DataException(path, $"has a malformed .npy header: {header.Trim()}");
        if (fortran.Groups[1].Value == "True")
            throw new DataException(path, "is in Fortran (column-major) order; save it in C order, e.g. np.save(path, np.ascontiguousarray(a))");
        string d = descr.Groups[1].Value;
        string dtype = d switch
        {
            "<f4" => "f4",
            "<f8" => "f8",
            "|u1" or "<u1" or "u1" => "u1",
            "<i4" => "i4",
            "<i8" => "i8",
            _ => throw new DataException(path, $"has dtype '{d}'; supported are little-endian float32 (<f4), float64 (<f8), uint8 (|u1), int32 (<i4), int64 (<i8)"),
        };
        var shape = shapeMatch.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => long.TryParse(s, out long v) ? v : throw new DataException(path, $"has a malformed shape ({shapeMatch.Groups[1].Value})")).ToArray();
        long expected = shape.Aggregate(1L, (a, b) => a * b) * ElementSize(dtype);
        long available = bytes.Length - headerStart - headerLength;
        if (available != expected)
            throw new DataException(path, $"holds {available} data bytes but its header declares shape ({string.Join(", ", shape)}) of {dtype}: {expected} bytes");
        return new NpyArray(path, shape, dtype, bytes[(int)(headerStart + headerLength)..]);
    }

    /// <summary>The values as float32 with this array's shape (float64 rounded to float32, integers converted).</summary>
    public Tensor ToFloat32()
    {
        using var raw = Raw();
        return raw.to_type(ScalarType.Float32);
    }

    /// <summary>The values of an integer array as int64; throws <see cref="DataException"/> for a float array.</summary>
    public long[] ToInt64()
    {
        return DType switch
        {
            "u1" => _data.Select(b => (long)b).ToArray(),
            "i4" => MemoryMarshal.Cast<byte, int>(_data).ToArray().Select(v => (long)v).ToArray(),
            "i8" => MemoryMarshal.Cast<byte, long>(_data).ToArray(),
            _ => throw new DataException(Path, $"has dtype {DType}; labels must be integers (uint8, int32 or int64)"),
        };
    }

    private Tensor Raw() => DType switch
    {
        "f4" => tensor(MemoryMarshal.Cast<byte, float>(_data).ToArray(), Shape),
        "f8" => tensor(MemoryMarshal.Cast<byte, double>(_data).ToArray(), Shape),
        "u1" => tensor(_data, Shape),
        "i4" => tensor(MemoryMarshal.Cast<byte, int>(_data).ToArray(), Shape),
        _ => tensor(MemoryMarshal.Cast<byte, long>(_data).ToArray(), Shape),
    };

    private static int ElementSize(string dtype) => dtype switch { "u1" => 1, "i4" or "f4" => 4, _ => 8 };

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
