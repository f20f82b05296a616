using System.Globalization;
using SubnetworkEnsembles.Engine.Data;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Inference;

/// <summary>
/// Reads rows to predict from a file, in the units of the dataset's own files (Fashion-MNIST: pixels 0…255; spirals:
/// coordinates), and normalises them exactly as training did. Formats: IDX (<c>.idx</c>, <c>-ubyte</c>, optionally
/// <c>.gz</c>; unsigned bytes), <c>.npy</c> (float32, float64 or uint8, C order) and CSV (one row per sample, an
/// optional header line). A row must have the model's input shape (or be it flattened) and finite values; anything
/// else is a <see cref="UsageException"/> naming the file and the row (CSV: the line). Returns float32 [N, …input shape].
/// </summary>
public static class InputReader
{
    /// <summary>
    /// Reads and normalises <paramref name="path"/> for the run's data <paramref name="data"/>: unsigned bytes (IDX, uint8
    /// .npy) of image data are pixels 0…255 and are scaled to [0, 1] first; then (x − mean) / std as in training.
    /// </summary>
    public static Tensor Read(string path, DataDescription data)
    {
        long[] inputShape = data.InputShape;
        if (Directory.Exists(path)) throw new UsageException($"--input {path} is a directory, expected a file (IDX, .npy or CSV)");
        if (!File.Exists(path)) throw new UsageException($"--input {path}: file not found");
        long features = inputShape.Aggregate(1L, (a, b) => a * b);
        string name = Path.GetFileName(path).ToLowerInvariant();
        if (new FileInfo(path).Length == 0) throw new UsageException($"--input {path} is empty, expected rows (IDX, .npy or CSV)");
        bool csv = name.EndsWith(".csv", StringComparison.Ordinal) || name.EndsWith(".txt", StringComparison.Ordinal);
        bool bytes = !csv && (!name.EndsWith(".npy", StringComparison.Ordinal) || NpyIsBytes(path));
        var (values, rows, lines) = name.EndsWith(".npy", StringComparison.Ordinal) ? With(ReadNpy(path, inputShape))
            : csv ? ReadCsv(path, features)
            : With(ReadIdx(path, inputShape));
        CheckFinite(path, values, features, row => lines is null ? $"row {row}" : $"line {lines[(int)row]}");
        var x = tensor(values, [rows, .. inputShape]);
        if (bytes && inputShape.Length == 3) x.div_(255f);
        Pipeline.ExperimentData.Normalize(x, data.Normalization, inputShape);
        return x;
    }

    private static bool NpyIsBytes(string path)
    {
        try
        {
            return Pipeline.NpyFile.ReadHeader(File.ReadAllBytes(path), path).Descr.Contains("u1", StringComparison.Ordinal);
        }
        catch (InvalidDataException) { return false; }   // reported with its reason when the rows are read
    }

    private static (float[] Values, long Rows, List<int>? Lines) With((float[] Values, long Rows) read) => (read.Values, read.Rows, null);

    private static (float[] Values, long Rows) ReadIdx(string path, long[] inputShape)
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
        CheckRowShape(path, dims.Skip(1).Select(d => (long)d).ToArray(), inputShape);
        return (bytes.Select(b => (float)b).ToArray(), dims[0]);
    }

    private static (float[] Values, long Rows) ReadNpy(string path, long[] inputShape)
    {
        var bytes = File.ReadAllBytes(path);
        Pipeline.NpyHeader header;
        try
        {
            header = Pipeline.NpyFile.ReadHeader(bytes, path);
        }
        catch (InvalidDataException e)
        {
            throw new UsageException($"--input {e.Message}");
        }
        if (header.FortranOrder) throw new UsageException($"--input {path}: Fortran order is not supported; save it in C order");
        var shape = header.Shape;
        if (shape.Length == 0 || shape[0] == 0) throw new UsageException($"--input {path}: {(shape.Length == 0 ? "a scalar" : "no rows")}, expected rows");
        CheckRowShape(path, shape.Skip(1).ToArray(), inputShape);
        long rows = shape[0], count = shape.Aggregate(1L, (a, b) => a * b);
        int data = header.DataOffset;
        (int size, Func<int, float> read) = header.Descr switch
        {
            "<f4" => (4, (Func<int, float>)(i => BitConverter.ToSingle(bytes, data + i * 4))),
            "<f8" => (8, i => (float)BitConverter.ToDouble(bytes, data + i * 8)),
            "|u1" => (1, i => bytes[data + i]),
            _ => throw new UsageException($"--input {path}: dtype '{header.Descr}' is not supported; expected float32 ('<f4'), float64 ('<f8') or uint8 ('|u1')"),
        };
        if (bytes.Length - data != count * size)
            throw new UsageException($"--input {path} is truncated or too long: {bytes.Length - data} data bytes, expected {count} values of {size} bytes (shape {string.Join('×', shape)})");
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = read(i);
        return (values, rows);
    }

    /// <summary>
    /// A row of <paramref name="row"/> must be the model's input shape, the same values flattened, or (images) the
    /// input shape without its leading channel of 1 — e.g. [28, 28] or [784] for [1, 28, 28]; anything else is refused.
    /// </summary>
    private static void CheckRowShape(string path, long[] row, long[] inputShape)
    {
        long features = inputShape.Aggregate(1L, (a, b) => a * b);
        bool fits = row.SequenceEqual(inputShape) || row.SequenceEqual([features]) || (inputShape is [1, ..] && row.AsSpan().SequenceEqual(inputShape.AsSpan(1)));
        if (!fits)
            throw new UsageException($"--input {path}: rows of shape [{string.Join(", ", row)}], but the model takes [{string.Join(", ", inputShape)}] " +
                $"(or {features} values per row)");
    }

    /// <summary>Every value must be finite: the row (and, for CSV, the line) of the first that is not is named.</summary>
    private static void CheckFinite(string path, float[] values, long features, Func<long, string> where)
    {
        int bad = Array.FindIndex(values, v => !float.IsFinite(v));
        if (bad >= 0)
            throw new UsageException($"--input {path}: {where(bad / features)}, value {bad % features + 1} is {values[bad].ToString(CultureInfo.InvariantCulture)}; expected finite numbers");
    }

    private static (float[] Values, long Rows, List<int>? Lines) ReadCsv(string path, long features)
    {
        var values = new List<float>();
        var lines = new List<int>();
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
            lines.Add(lineNumber);
            rows++;
        }
        if (rows == 0) throw new UsageException($"--input {path}: no rows");
        return (values.ToArray(), rows, lines);
    }
}
