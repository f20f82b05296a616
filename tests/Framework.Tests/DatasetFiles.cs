using System.Buffers.Binary;
using System.Text;
using SkiaSharp;

namespace SubnetworkEnsembles.Tests;

/// <summary>Writes tiny data files (IDX, .npy, PNG) for the dataset plugin tests.</summary>
public static class DatasetFiles
{
    /// <summary>An IDX file of unsigned bytes with dimensions <paramref name="dims"/>.</summary>
    public static string Idx(string path, int[] dims, byte[] data)
    {
        var bytes = new List<byte> { 0, 0, 0x08, (byte)dims.Length };
        var dim = new byte[4];
        foreach (int d in dims) { BinaryPrimitives.WriteInt32BigEndian(dim, d); bytes.AddRange(dim); }
        bytes.AddRange(data);
        File.WriteAllBytes(path, [.. bytes]);
        return path;
    }

    /// <summary>A .npy file (format 1.0) with dtype <paramref name="descr"/> (e.g. "&lt;f4"), shape and raw little-endian data.</summary>
    public static string Npy(string path, string descr, long[] shape, byte[] data, bool fortran = false)
    {
        string dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        string header = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': ({dims}), }}";
        int padded = (10 + header.Length + 1 + 63) / 64 * 64 - 10;
        header = header.PadRight(padded - 1) + "\n";
        using var stream = File.Create(path);
        stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        stream.Write(BitConverter.GetBytes((ushort)header.Length));
        stream.Write(Encoding.ASCII.GetBytes(header));
        stream.Write(data);
        return path;
    }

    /// <summary>A float32 .npy file.</summary>
    public static string NpyFloat(string path, long[] shape, float[] values)
    {
        var data = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, data, 0, data.Length);
        return Npy(path, "<f4", shape, data);
    }

    /// <summary>An int64 .npy file [N].</summary>
    public static string NpyLong(string path, long[] values)
    {
        var data = new byte[values.Length * 8];
        Buffer.BlockCopy(values, 0, data, 0, data.Length);
        return Npy(path, "<i8", [values.Length], data);
    }

    /// <summary>A grey PNG of <paramref name="height"/>×<paramref name="width"/> whose pixel (y, x) is <paramref name="value"/>(y, x).</summary>
    public static string GreyPng(string path, int height, int width, Func<int, int, byte> value)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        var pixels = bitmap.GetPixelSpan();
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) pixels[y * bitmap.RowBytes + x] = value(y, x);
        return Save(path, bitmap);
    }

    /// <summary>An RGB PNG whose pixel (y, x) has channels <paramref name="value"/>(c, y, x) for c = 0 (R), 1 (G), 2 (B).</summary>
    public static string RgbPng(string path, int height, int width, Func<int, int, int, byte> value)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var pixels = bitmap.GetPixelSpan();
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int at = y * bitmap.RowBytes + 4 * x;
                for (int c = 0; c < 3; c++) pixels[at + c] = value(c, y, x);
                pixels[at + 3] = 255;
            }
        return Save(path, bitmap);
    }

    private static string Save(string path, SKBitmap bitmap)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }
}
