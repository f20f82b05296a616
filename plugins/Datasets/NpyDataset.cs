using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Datasets.Internal;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Datasets;

/// <summary>Options of <see cref="NpyDataset"/>: either the per-split files or <c>features</c> + <c>labels</c> + <c>fractions</c>.</summary>
public sealed class NpyDatasetOptions : IValidatableOptions
{
    /// <summary>Training features: [N, F] (a table) or [N, C, H, W] (images) of float32/float64/uint8/int32/int64.</summary>
    public string? TrainFeatures { get; set; }

    /// <summary>Training labels: integers [N] in 0 … C − 1.</summary>
    public string? TrainLabels { get; set; }

    /// <summary>Test features, of the training features' shape per row.</summary>
    public string? TestFeatures { get; set; }

    /// <summary>Test labels.</summary>
    public string? TestLabels { get; set; }

    /// <summary>Optional validation features (with <c>validation_labels</c>); without them the host carves data.validation rows from training.</summary>
    public string? ValidationFeatures { get; set; }

    /// <summary>Optional validation labels.</summary>
    public string? ValidationLabels { get; set; }

    /// <summary>All features in one array, split by <c>fractions</c> (instead of the per-split files).</summary>
    public string? Features { get; set; }

    /// <summary>All labels in one array, with <c>features</c>.</summary>
    public string? Labels { get; set; }

    /// <summary>[train, validation, test] fractions of the rows of <c>features</c>, summing to 1; validation 0 lets the host carve data.validation rows.</summary>
    public List<double>? Fractions { get; set; }

    /// <summary>True when the one-array form (<c>features</c>, <c>labels</c>, <c>fractions</c>) is used.</summary>
    internal bool IsSingleFile => !string.IsNullOrWhiteSpace(Features) || !string.IsNullOrWhiteSpace(Labels);

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        var perSplit = new[] { ("train_features", TrainFeatures), ("train_labels", TrainLabels), ("test_features", TestFeatures), ("test_labels", TestLabels) };
        if (IsSingleFile)
        {
            if (perSplit.Any(p => !string.IsNullOrWhiteSpace(p.Item2)) || !string.IsNullOrWhiteSpace(ValidationFeatures) || !string.IsNullOrWhiteSpace(ValidationLabels))
                yield return "features: give either features + labels + fractions or the per-split files (train_features, …), not both";
            if (string.IsNullOrWhiteSpace(Features) || string.IsNullOrWhiteSpace(Labels)) yield return "labels: features and labels must be given together";
            if (Fractions is null) yield return "fractions: must be given with features and labels, e.g. [0.8, 0.1, 0.1]";
            foreach (var problem in FractionSplit.Validate(Fractions)) yield return problem;
            yield break;
        }
        foreach (var (key, value) in perSplit)
            if (string.IsNullOrWhiteSpace(value)) yield return $"{key}: must name a .npy file (or use features + labels + fractions)";
        if (string.IsNullOrWhiteSpace(ValidationFeatures) != string.IsNullOrWhiteSpace(ValidationLabels))
            yield return "validation_features: must be given together with validation_labels";
        if (Fractions is not null) yield return "fractions: only applies to the one-array form (features + labels)";
    }
}

/// <summary>
/// Features and labels from NumPy .npy arrays: features [N, F] (a table, values as given) or [N, C, H, W] (images; uint8
/// pixels become x/255), labels integers [N] with C = max training label + 1. The host normalises with statistics of the
/// training split.
/// </summary>
[Plugin("npy", PluginKind.Dataset, OptionsType = typeof(NpyDatasetOptions),
    Description = "Features [N, F] or images [N, C, H, W] and integer labels from NumPy .npy files")]
public sealed class NpyDataset(NpyDatasetOptions options) : IDatasetSource
{
    /// <inheritdoc />
    public DatasetSplits Load(DatasetContext context)
    {
        if (options.IsSingleFile)
        {
            string featuresPath = context.Resolve(options.Features!), labelsPath = context.Resolve(options.Labels!);
            var (inputs, labels) = ReadPair(featuresPath, labelsPath);
            using (inputs)
            {
                int classes = DataChecks.ClassCountOf(labels, labelsPath);
                using var labelTensor = DataChecks.LabelTensor(labels, classes, labelsPath, "training");
                var (train, validation, test) = FractionSplit.Split(inputs, labelTensor, options.Fractions!, context.SplitSeed, featuresPath);
                return new DatasetSplits
                {
                    Train = train, Validation = validation, Test = test, InputShape = inputs.shape[1..],
                    ClassNames = DataChecks.NumberedClasses(classes),
                };
            }
        }

        string trainFeatures = context.Resolve(options.TrainFeatures!), trainLabelsPath = context.Resolve(options.TrainLabels!);
        var (trainInputs, trainLabels) = ReadPair(trainFeatures, trainLabelsPath);
        long[] shape = trainInputs.shape[1..];
        var loaded = new List<TensorSplit>();
        try
        {
            int classes = DataChecks.ClassCountOf(trainLabels, trainLabelsPath);
            var train = Owned(trainInputs, trainLabels, classes, trainLabelsPath, "training", loaded);
            var test = Load(options.TestFeatures!, options.TestLabels!, "test", classes);
            var validation = string.IsNullOrWhiteSpace(options.ValidationFeatures) ? null
                : Load(options.ValidationFeatures, options.ValidationLabels!, "validation", classes);
            return new DatasetSplits
            {
                Train = train, Validation = validation, Test = test, InputShape = shape,
                ClassNames = DataChecks.NumberedClasses(classes),
            };
        }
        catch
        {
            if (loaded.Count == 0) trainInputs.Dispose();
            foreach (var split in loaded) split.Dispose();
            throw;
        }

        TensorSplit Load(string features, string labels, string split, int classes)
        {
            string featuresPath = context.Resolve(features), labelsPath = context.Resolve(labels);
            var (inputs, values) = ReadPair(featuresPath, labelsPath);
            if (!inputs.shape.AsSpan(1).SequenceEqual(shape))
            {
                var mismatch = new DataException(featuresPath, $"rows have shape [{string.Join(", ", inputs.shape[1..])}] but the training rows of {trainFeatures} have [{string.Join(", ", shape)}]");
                inputs.Dispose();
                throw mismatch;
            }
            return Owned(inputs, values, classes, labelsPath, split, loaded);
        }
    }

    /// <summary>A split owning <paramref name="inputs"/> (disposed when the labels are bad), added to <paramref name="loaded"/>.</summary>
    private static TensorSplit Owned(Tensor inputs, long[] labels, int classes, string labelsPath, string split, List<TensorSplit> loaded)
    {
        Tensor labelTensor;
        try { labelTensor = DataChecks.LabelTensor(labels, classes, labelsPath, split); }
        catch
        {
            if (loaded.Count > 0) inputs.Dispose();   // the training inputs are disposed by the caller
            throw;
        }
        var owned = new TensorSplit(inputs, labelTensor);
        loaded.Add(owned);
        return owned;
    }

    /// <summary>Features float32 [N, …] and integer labels of one pair of files, checked for rank and row count.</summary>
    private static (Tensor Inputs, long[] Labels) ReadPair(string featuresPath, string labelsPath)
    {
        var features = NpyArray.Read(featuresPath);
        if (features.Shape.Length is not (2 or 4))
            throw new DataException(featuresPath, $"has shape ({string.Join(", ", features.Shape)}); expected features [N, F] or images [N, C, H, W]");
        var labelArray = NpyArray.Read(labelsPath);
        if (labelArray.Shape.Length != 1) throw new DataException(labelsPath, $"has shape ({string.Join(", ", labelArray.Shape)}); expected labels [N]");
        DataChecks.RequireSameRows(features.Shape[0], labelArray.Shape[0], featuresPath, labelsPath);
        long[] labels = labelArray.ToInt64();
        var inputs = features.ToFloat32();
        if (features.DType == "u1" && features.Shape.Length == 4) inputs.div_(255f);
        return (inputs, labels);
    }
}
