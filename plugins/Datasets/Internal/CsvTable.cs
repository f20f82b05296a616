using System.Text;
using SubnetworkEnsembles.Abstractions;

namespace SubnetworkEnsembles.Datasets.Internal;

/// <summary>
/// A delimited text file with a header row: fields separated by one delimiter character, optionally in double quotes
/// ("" inside quotes is a quote; a quoted field does not span lines). Blank lines are skipped.
/// </summary>
public sealed class CsvTable
{
    private CsvTable(string path, string[] header, List<(int Line, string[] Cells)> rows) => (Path, Header, Rows) = (path, header, rows);

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary>Column names from the header row, trimmed.</summary>
    public IReadOnlyList<string> Header { get; }

    /// <summary>Data rows with their 1-based line number in the file (the header is line 1).</summary>
    public IReadOnlyList<(int Line, string[] Cells)> Rows { get; }

    /// <summary>Reads <paramref name="path"/>; throws <see cref="DataException"/> for a missing file, no header, a row of the wrong width or an unclosed quote.</summary>
    public static CsvTable Read(string path, char delimiter)
    {
        if (!File.Exists(path)) throw new DataException(path, "file not found");
        string[] lines;
        try { lines = File.ReadAllLines(path, Encoding.UTF8); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new DataException(path, $"cannot be read ({e.Message})", e); }
        int first = Array.FindIndex(lines, l => l.Trim().Length > 0);
        if (first < 0) throw new DataException(path, "is empty; expected a header row and data rows");
        var header = Split(lines[first], delimiter, path, first + 1).Select(h => h.Trim()).ToArray();
        var duplicate = header.GroupBy(h => h, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new DataException($"{path}:{first + 1}", $"the header names column '{duplicate.Key}' twice");
        var rows = new List<(int, string[])>();
        for (int i = first + 1; i < lines.Length; i++)
        {
            if (lines[i].Trim().Length == 0) continue;
            var cells = Split(lines[i], delimiter, path, i + 1);
            if (cells.Length != header.Length)
                throw new DataException($"{path}:{i + 1}", $"has {cells.Length} fields, the header has {header.Length} (delimiter '{delimiter}')");
            rows.Add((i + 1, cells));
        }
        return new CsvTable(path, header, rows);
    }

    /// <summary>Index of column <paramref name="name"/>; throws <see cref="DataException"/> naming the columns there are.</summary>
    public int Column(string name, string key)
    {
        int index = Array.IndexOf(Header.ToArray(), name);
        if (index < 0) throw new DataException(Path, $"has no column '{name}' ({key}); its columns are {string.Join(", ", Header.Select(h => $"'{h}'"))}");
        return index;
    }

    private static string[] Split(string line, char delimiter, string path, int lineNumber)
    {
        var cells = new List<string>();
        var cell = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c != '"') cell.Append(c);
                else if (i + 1 < line.Length && line[i + 1] == '"') { cell.Append('"'); i++; }
                else quoted = false;
            }
            else if (c == '"' && cell.ToString().Trim().Length == 0) { cell.Clear(); quoted = true; }
            else if (c == delimiter) { cells.Add(cell.ToString()); cell.Clear(); }
            else cell.Append(c);
        }
        if (quoted) throw new DataException($"{path}:{lineNumber}", "has a quote that is never closed");
        cells.Add(cell.ToString());
        return [.. cells];
    }
}
