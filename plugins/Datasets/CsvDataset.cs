using System.Globalization;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Datasets.Internal;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Datasets;

/// <summary>Options of <see cref="CsvDataset"/>: <c>path</c> + <c>test_path</c> (+ <c>validation_path</c>), or <c>path</c> + <c>fractions</c>.</summary>
public sealed class CsvDatasetOptions : IValidatableOptions
{
    /// <summary>The training file (or the only file, with <c>fractions</c>): a header row, then one row per sample.</summary>
    public string Path { get; set; } = "";

    /// <summary>The test file, with the same columns.</summary>
    public string? TestPath { get; set; }

    /// <summary>Optional validation file; without it the host carves data.validation rows from training.</summary>
    public string? ValidationPath { get; set; }

    /// <summary>[train, validation, test] fractions of the rows of <c>path</c> (instead of <c>test_path</c>), summing to 1.</summary>
    public List<double>? Fractions { get; set; }

    /// <summary>Name of the label column: integers 0 … C − 1, or strings (classes = their sorted distinct values).</summary>
    public string Label { get; set; } = "label";

    /// <summary>Names of the numeric feature columns, in input order (default: every column but the label).</summary>
    public List<string>? Features { get; set; }

    /// <summary>The field separator, one character (e.g. ",", ";" or "\t").</summary>
    public string Delimiter { get; set; } = ",";

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Path)) yield return "path: must name a CSV file";
        if (string.IsNullOrWhiteSpace(TestPath) == (Fractions is null))
            yield return "test_path: give either test_path (a separate test file) or fractions (one file split by fractions)";
        if (!string.IsNullOrWhiteSpace(ValidationPath) && Fractions is not null)
            yield return "validation_path: does not combine with fractions (the validation fraction splits the one file)";
        foreach (var problem in FractionSplit.Validate(Fractions)) yield return problem;
        if (string.IsNullOrWhiteSpace(Label)) yield return "label: must name the label column";
        if (Delimiter.Length != 1) yield return $"delimiter: must be one character, got '{Delimiter}'";
        if (Features is { Count: 0 }) yield return "features: must name at least one column (or be left out: every column but the label)";
        if (Features is not null && Features.Contains(Label)) yield return $"features: must not include the label column '{Label}'";
    }
}

/// <summary>
/// A table from CSV files: numeric features [F] (as given) and a label column of integers or strings. Every feature cell
/// must parse as a number (invariant culture); the host normalises with statistics of the training split.
/// </summary>
[Plugin("csv", PluginKind.Dataset, OptionsType = typeof(CsvDatasetOptions),
    Description = "A table from CSV files: numeric feature columns and a label column (integers or names)")]
public sealed class CsvDataset(CsvDatasetOptions options) : IDatasetSource
{
    /// <inheritdoc />
    public DatasetSplits Load(DatasetContext context)
    {
        char delimiter = options.Delimiter[0];
        var trainTable = CsvTable.Read(context.Resolve(options.Path), delimiter);
        int labelColumn = trainTable.Column(options.Label, "label");
        var featureNames = options.Features ?? trainTable.Header.Where(h => h != options.Label).ToList();
        if (featureNames.Count == 0) throw new DataException(trainTable.Path, $"has no feature columns beside the label '{options.Label}'");
        var classes = ClassesOf(trainTable, labelColumn);

        if (options.Fractions is { } fractions)
        {
            using var all = ToSplit(trainTable, featureNames, classes, "all");
            var (train, validation, test) = FractionSplit.Split(all.Inputs, all.Labels, fractions, context.SplitSeed, trainTable.Path);
            return new DatasetSplits { Train = train, Validation = validation, Test = test, InputShape = [featureNames.Count], ClassNames = classes.Names };
        }

        var loaded = new List<TensorSplit>();
        try
        {
            loaded.Add(ToSplit(trainTable, featureNames, classes, "training"));
            loaded.Add(ToSplit(CsvTable.Read(context.Resolve(options.TestPath!), delimiter), featureNames, classes, "test"));
            if (!string.IsNullOrWhiteSpace(options.ValidationPath))
                loaded.Add(ToSplit(CsvTable.Read(context.Resolve(options.ValidationPath), delimiter), featureNames, classes, "validation"));
            return new DatasetSplits
            {
                Train = loaded[0], Test = loaded[1], Validation = loaded.Count > 2 ? loaded[2] : null,
                InputShape = [featureNames.Count], ClassNames = classes.Names,
            };
        }
        catch
        {
            foreach (var split in loaded) split.Dispose();
            throw;
        }
    }

    /// <summary>Class names and how labels map to classes: integer labels are their own index, names index the sorted names.</summary>
    private sealed record LabelClasses(IReadOnlyList<string> Names, Dictionary<string, long>? ByName);

    private LabelClasses ClassesOf(CsvTable table, int labelColumn)
    {
        var cells = table.Rows.Select(r => r.Cells[labelColumn].Trim()).ToList();
        DataChecks.RequireRows(cells.Count, table.Path, "training");
        if (cells.All(c => long.TryParse(c, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)))
        {
            int classes = DataChecks.ClassCountOf(cells.Select(c => long.Parse(c, CultureInfo.InvariantCulture)).ToArray(), $"{table.Path} column '{options.Label}'");
            return new LabelClasses(DataChecks.NumberedClasses(classes), null);
        }
        var names = cells.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        DataChecks.RequireTwoClasses(names.Count, $"{table.Path} column '{options.Label}'");
        return new LabelClasses(names, names.Select((n, i) => (n, (long)i)).ToDictionary(p => p.n, p => p.Item2, StringComparer.Ordinal));
    }

    private TensorSplit ToSplit(CsvTable table, List<string> featureNames, LabelClasses classes, string split)
    {
        DataChecks.RequireRows(table.Rows.Count, table.Path, split);
        int labelColumn = table.Column(options.Label, "label");
        int[] columns = featureNames.Select(f => table.Column(f, "features")).ToArray();
        var values = new float[table.Rows.Count * columns.Length];
        var labels = new long[table.Rows.Count];
        for (int r = 0; r < table.Rows.Count; r++)
        {
            var (line, cells) = table.Rows[r];
            for (int f = 0; f < columns.Length; f++)
            {
                string cell = cells[columns[f]].Trim();
                if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
                    throw new DataException($"{table.Path}:{line} column '{featureNames[f]}'", $"expected a number, got '{cell}'");
                values[r * columns.Length + f] = (float)value;
            }
            labels[r] = LabelOf(cells[labelColumn].Trim(), classes, $"{table.Path}:{line} column '{options.Label}'");
        }
        return new TensorSplit(tensor(values, [labels.Length, columns.Length]), tensor(labels, [labels.Length]));
    }

    private static long LabelOf(string cell, LabelClasses classes, string location)
    {
        if (classes.ByName is { } byName)
            return byName.TryGetValue(cell, out long index) ? index
                : throw new DataException(location, $"label '{cell}' is not one of the training classes ({string.Join(", ", classes.Names)})");
        if (!long.TryParse(cell, NumberStyles.Integer, CultureInfo.InvariantCulture, out long label))
            throw new DataException(location, $"expected an integer class label like the training file's, got '{cell}'");
        if (label < 0 || label >= classes.Names.Count)
            throw new DataException(location, $"label {label} is outside the classes 0 … {classes.Names.Count - 1}");
        return label;
    }
}
