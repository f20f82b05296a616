using System.Buffers.Binary;
using System.IO.Compression;

namespace SubnetworkEnsembles.Engine.Data;

/// <summary>
/// Reads the IDX format of (Fashion-)MNIST, optionally gzip-compressed: magic 0x00 0x00 type ndim,
/// then ndim big-endian int32 dimensions, then the unsigned bytes (type 0x08) in row-major order.
/// </summary>
public static class IdxFile
{
    /// <summary>
    /// Reads an unsigned-byte IDX file of rank <paramref name="expectedRank"/> (−1: any rank from 1 to 8); returns its
    /// dimensions and data. Throws <see cref="DataFileException"/>.
    /// </summary>
    public static (int[] Dimensions, byte[] Data) Read(string path, int expectedRank)
    {
        if (Directory.Exists(path)) throw new DataFileException(path, "is a directory, expected an IDX file");
        if (!File.Exists(path)) throw new DataFileException(path, "file not found");
        try
        {
            using var file = File.OpenRead(path);
            using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
            Span<byte> header = stackalloc byte[4];
            ReadExactly(stream, header, path, "header");
            string rank = expectedRank < 0 ? "r" : expectedRank.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (header[0] != 0 || header[1] != 0 || header[2] != 0x08)
                throw new DataFileException(path, $"bad IDX magic {header[0]:X2} {header[1]:X2} {header[2]:X2} {header[3]:X2}, expected 00 00 08 0{rank} (unsigned bytes, rank {rank})");
            if (expectedRank < 0 && header[3] is >= 1 and <= 8) expectedRank = header[3];
            if (header[3] != expectedRank)
                throw new DataFileException(path, $"IDX rank is {header[3]}, expected {expectedRank}");
            var dims = new int[expectedRank];
            Span<byte> dim = stackalloc byte[4];
            for (int i = 0; i < expectedRank; i++)
            {
                ReadExactly(stream, dim, path, "dimensions");
                dims[i] = BinaryPrimitives.ReadInt32BigEndian(dim);
                if (dims[i] <= 0) throw new DataFileException(path, $"dimension {i} is {dims[i]}, expected a positive size");
            }
            long size = dims.Aggregate(1L, (a, b) => a * b);
            if (size > int.MaxValue) throw new DataFileException(path, $"declares {size} bytes, more than this reader supports");
            var data = new byte[size];
            ReadExactly(stream, data, path, "data");
            if (stream.ReadByte() != -1) throw new DataFileException(path, $"has data after the {size} bytes its header declares");
            return (dims, data);
        }
        catch (InvalidDataException e) { throw new DataFileException(path, $"is not valid gzip ({e.Message})"); }
        catch (IOException e) when (e is not EndOfStreamException) { throw new DataFileException(path, $"cannot be read ({e.Message})"); }
        catch (UnauthorizedAccessException e) { throw new DataFileException(path, $"cannot be read ({e.Message})"); }
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string path, string part)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = stream.Read(buffer[total..]);
            if (n == 0) throw new DataFileException(path, $"is truncated: {part} ends after {total} of {buffer.Length} bytes");
            total += n;
        }
    }
}
