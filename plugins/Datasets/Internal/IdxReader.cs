using System.Buffers.Binary;
using System.IO.Compression;
using SubnetworkEnsembles.Abstractions;

namespace SubnetworkEnsembles.Datasets.Internal;

/// <summary>
/// Reads the IDX format of (Fashion-)MNIST, optionally gzip-compressed (a name ending in .gz): magic 0x00 0x00 0x08 rank,
/// then rank big-endian int32 dimensions, then the unsigned bytes in row-major order.
/// </summary>
public static class IdxReader
{
    /// <summary>
    /// Reads an unsigned-byte IDX file whose rank is one of <paramref name="ranks"/>; returns its dimensions and data.
    /// Throws <see cref="DataException"/> (located at <paramref name="path"/>) for a missing, truncated or malformed file.
    /// </summary>
    public static (int[] Dimensions, byte[] Data) Read(string path, params int[] ranks)
    {
        if (Directory.Exists(path)) throw new DataException(path, "is a directory, expected an IDX file");
        if (!File.Exists(path)) throw new DataException(path, "file not found");
        string expected = string.Join(" or ", ranks);
        try
        {
            using var file = File.OpenRead(path);
            using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
            Span<byte> header = stackalloc byte[4];
            ReadExactly(stream, header, path, "header");
            if (header[0] != 0 || header[1] != 0 || header[2] != 0x08)
                throw new DataException(path, $"bad IDX magic {header[0]:X2} {header[1]:X2} {header[2]:X2} {header[3]:X2}, expected 00 00 08 0{ranks[0]} (unsigned bytes, rank {expected})");
            int rank = header[3];
            if (!ranks.Contains(rank)) throw new DataException(path, $"IDX rank is {rank}, expected {expected}");
            var dims = new int[rank];
            Span<byte> dim = stackalloc byte[4];
            for (int i = 0; i < rank; i++)
            {
                ReadExactly(stream, dim, path, "dimensions");
                dims[i] = BinaryPrimitives.ReadInt32BigEndian(dim);
                if (dims[i] <= 0) throw new DataException(path, $"dimension {i} is {dims[i]}, expected a positive size");
            }
            long size = dims.Aggregate(1L, (a, b) => a * b);
            if (size > Array.MaxLength) throw new DataException(path, $"declares {size} bytes, more than this reader supports");
            var data = new byte[size];
            ReadExactly(stream, data, path, "data");
            if (stream.ReadByte() != -1) throw new DataException(path, $"has data after the {size} bytes its header declares");
            return (dims, data);
        }
        catch (InvalidDataException e) { throw new DataException(path, $"is not valid gzip ({e.Message})", e); }
        catch (IOException e) when (e is not EndOfStreamException) { throw new DataException(path, $"cannot be read ({e.Message})", e); }
        catch (UnauthorizedAccessException e) { throw new DataException(path, $"cannot be read ({e.Message})", e); }
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string path, string part)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = stream.Read(buffer[total..]);
            if (n == 0) throw new DataException(path, $"is truncated: {part} ends after {total} of {buffer.Length} bytes");
            total += n;
        }
    }
}
