using System.Buffers.Binary;
using System.IO.Compression;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Abstractions;

/// <summary>
/// Writes images as PNG files without any imaging library (8-bit greyscale or RGB, zlib-compressed scanlines, no
/// filter), so an analysis plugin needs nothing beyond this assembly to draw its figures.
/// </summary>
public static class PngImages
{
    private static readonly uint[] CrcTable = MakeCrcTable();

    /// <summary>
    /// Writes <paramref name="image"/> to <paramref name="path"/> (a temporary file renamed into place): float [3, H, W]
    /// as RGB, [1, H, W] or [H, W] as grey; each value v becomes the byte round(255 · clamp(v, 0, 1)).
    /// </summary>
    public static void Write(string path, Tensor image)
    {
        using var scope = NewDisposeScope();
        var chw = image.dim() == 2 ? image.unsqueeze(0) : image;
        if (chw.dim() != 3 || (chw.shape[0] != 1 && chw.shape[0] != 3))
            throw new ArgumentException($"an image is [3, H, W], [1, H, W] or [H, W]; got [{string.Join(", ", image.shape)}]", nameof(image));
        int channels = (int)chw.shape[0], height = (int)chw.shape[1], width = (int)chw.shape[2];
        var bytes = chw.detach().cpu().to_type(ScalarType.Float32).clamp(0, 1).mul(255).round().to_type(ScalarType.Byte)
            .permute(1, 2, 0).contiguous().data<byte>().ToArray();
        string temporary = path + ".tmp-" + Environment.ProcessId;
        File.WriteAllBytes(temporary, Encode(bytes, width, height, channels));
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>The PNG file of <paramref name="pixels"/> (rows top to bottom, each width × channels bytes; channels 1 = grey, 3 = RGB).</summary>
    public static byte[] Encode(byte[] pixels, int width, int height, int channels)
    {
        if (pixels.Length != width * height * channels) throw new ArgumentException($"expected {width * height * channels} bytes, got {pixels.Length}", nameof(pixels));
        using var output = new MemoryStream();
        output.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;                                 // bits per sample
        header[9] = (byte)(channels == 1 ? 0 : 2);     // colour type: grey or RGB
        Chunk(output, "IHDR", header);
        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            {
                int stride = width * channels;
                for (int y = 0; y < height; y++)
                {
                    zlib.WriteByte(0);                 // filter: none
                    zlib.Write(pixels, y * stride, stride);
                }
            }
            Chunk(output, "IDAT", compressed.ToArray());
        }
        Chunk(output, "IEND", []);
        return output.ToArray();
    }

    private static void Chunk(Stream output, string type, byte[] data)
    {
        Span<byte> number = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(number, data.Length);
        output.Write(number);
        var typed = new byte[4 + data.Length];
        for (int i = 0; i < 4; i++) typed[i] = (byte)type[i];
        data.CopyTo(typed, 4);
        output.Write(typed);
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in typed) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        BinaryPrimitives.WriteUInt32BigEndian(number, crc ^ 0xFFFFFFFFu);
        output.Write(number);
    }

    private static uint[] MakeCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}
