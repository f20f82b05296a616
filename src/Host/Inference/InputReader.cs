using System.Globalization;
using System.Text;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Host.Configuration;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Host.Inference;

/// <summary>
/// Reads rows to predict from a file, in the units of the dataset's own files (Fashion-MNIST: pixels 0…255; spirals:
/// coordinates), and normalises them exactly as training did. Formats: IDX (<c>.idx</c>, <c>-ubyte</c>, optionally
/// <c>.gz</c>; unsigned bytes), <c>.npy</c> (float32, float64 or uint8, C order) and CSV (one row per sample, an
/// optional header line). The values of a row must fill the model's input shape. Returns float32 [N, …input shape].
/// </summary>
public static class InputReader
{
    /// <summary>Reads and normalises <paramref name="path"/> for a model with input <paramref name="inputShape"/>.</summary>
    public static Tensor Read(string path, DataSpec data, long[] inputShape)
    {
        if (Directory.Exists(path)) throw new UsageException($"--input {path} is a directory, expected a file (IDX, .npy or CSV)");
        if (!File.Exists(path)) throw new UsageException($"--input {path}: file not found");
        long features = inputShape.Aggregate(1L, (a, b) => a * b);
        string name = Path.GetFileName(path).ToLowerInvariant();
        var (values, rows) = name.EndsWith(".npy", StringComparison.Ordinal) ? ReadNpy(path, features)
            : name.EndsWith(".csv", StringComparison.Ordinal) || name.EndsWith(".txt", StringComparison.Ordinal) ? ReadCsv(path, features)
            : ReadIdx(path, features);
        using var raw = tensor(values, [rows, .. inputShape]);
        return data.Dataset == DatasetName.FashionMnist
            ? raw.div(255f).sub_(DatasetLoader.FashionMean).div_(DatasetLoader.FashionStd)
            : raw.clone();
    }

    private static (float[] Values, long Rows) ReadIdx(string path, long features)
    {
        byte[] bytes;
        int[] dims;
        try
        {
            (dims, bytes) = IdxFile.Read(path, expectedRank: -1);
        }
        catch (DataFileException e)
        {
            throw new UsageException($"--input {e.Message} (expected an IDX file of unsigned bytes, a .npy or a .csv file)");
        }
        long perRow = dims.Skip(1).Aggregate(1L, (a, b) => a * b);
        if (perRow != features)
            throw new UsageException($"--input {path}: rows of {string.Join('×', dims.Skip(1))} = {perRow} values, but the model takes {features}");
        return (bytes.Select(b => (float)b).ToArray(), dims[0]);
    }

    private static (float[] Values, long Rows) ReadNpy(string path, long features)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY")
            throw new UsageException($"--input {path} is not a .npy file");
        int headerLength = bytes[6] == 1 ? BitConverter.ToUInt16(bytes, 8) : (int)BitConverter.ToUInt32(bytes, 8);
        int offset = bytes[6] == 1 ? 10 : 12;
        string header = Encoding.ASCII.GetString(bytes, offset, Math.Min(headerLength, bytes.Length - offset));
        if (header.Contains("'fortran_order': True", StringComparison.Ordinal)) throw new UsageException($"--input {path}: Fortran order is not supported; save it in C order");
        int open = header.IndexOf("'shape': (", StringComparison.Ordinal);
        if (open < 0) throw new UsageException($"--input {path}: no shape in the .npy header");
        open += 10;
        var shape = header[open..header.IndexOf(')', open)].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(long.Parse).ToArray();
        if (shape.Length == 0) throw new UsageException($"--input {path}: a scalar, expected rows");
        long rows = shape[0], perRow = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        if (perRow != features) throw new UsageException($"--input {path}: rows of {perRow} values (shape {string.Join('×', shape)}), but the model takes {features}");
        int data = offset + headerLength;
        long count = rows * perRow;
        (int size, Func<int, float> read) = header switch
        {
            _ when header.Contains("'<f4'", StringComparison.Ordinal) => (4, (Func<int, float>)(i => BitConverter.ToSingle(bytes, data + i * 4))),
            _ when header.Contains("'<f8'", StringComparison.Ordinal) => (8, i => (float)BitConverter.ToDouble(bytes, data + i * 8)),
            _ when header.Contains("'|u1'", StringComparison.Ordinal) => (1, i => bytes[data + i]),
            _ => throw new UsageException($"--input {path}: dtype not supported (use float32, float64 or uint8): {header.Trim()}"),
        };
        if (bytes.Length - data < count * size) throw new UsageException($"--input {path} is truncated: expected {count} values");
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = read(i);
        return (values, rows);
    }

    private static (float[] Values, long Rows) ReadCsv(string path, long features)
    {
        var values = new List<float>();
        long rows = 0;
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var cells = line.Split(',', StringSplitOptions.TrimEntries);
            var parsed = new float[cells.Length];
            bool numeric = true;
            for (int i = 0; i < cells.Length && numeric; i++) numeric = float.TryParse(cells[i], NumberStyles.Float, CultureInfo.InvariantCulture, out parsed[i]);
            if (!numeric)
            {
                if (rows == 0 && values.Count == 0 && lineNumber == 1) continue;   // a header line
                throw new UsageException($"--input {path}:{lineNumber}: expected {features} numbers separated by commas");
            }
            if (cells.Length != features) throw new UsageException($"--input {path}:{lineNumber}: {cells.Length} values, but the model takes {features}");
            values.AddRange(parsed);
            rows++;
        }
        if (rows == 0) throw new UsageException($"--input {path}: no rows");
        return (values.ToArray(), rows);
    }
}
