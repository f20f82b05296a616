using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Datasets.Internal;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Datasets;

/// <summary>Options of <see cref="IdxDataset"/>.</summary>
public sealed class IdxDatasetOptions : IValidatableOptions
{
    /// <summary>Training images: IDX unsigned bytes [N, H, W] (grey) or [N, H, W, C]; optionally .gz.</summary>
    public string TrainImages { get; set; } = "";

    /// <summary>Training labels: IDX unsigned bytes [N], class indices.</summary>
    public string TrainLabels { get; set; } = "";

    /// <summary>Test images, as <c>train_images</c> and of the same image size.</summary>
    public string TestImages { get; set; } = "";

    /// <summary>Test labels.</summary>
    public string TestLabels { get; set; } = "";

    /// <summary>Optional validation images (with <c>validation_labels</c>); without them the host carves data.validation rows from training.</summary>
    public string? ValidationImages { get; set; }

    /// <summary>Optional validation labels.</summary>
    public string? ValidationLabels { get; set; }

    /// <summary>Number of classes C (0: max training label + 1, or the number of <c>class_names</c>).</summary>
    public int Classes { get; set; }

    /// <summary>Optional class names in label order (default "0" … "C − 1").</summary>
    public List<string>? ClassNames { get; set; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        foreach (var (key, value) in new[] { ("train_images", TrainImages), ("train_labels", TrainLabels), ("test_images", TestImages), ("test_labels", TestLabels) })
            if (string.IsNullOrWhiteSpace(value)) yield return $"{key}: must name an IDX file";
        if (string.IsNullOrWhiteSpace(ValidationImages) != string.IsNullOrWhiteSpace(ValidationLabels))
            yield return "validation_images: must be given together with validation_labels";
        if (Classes is 1 or < 0) yield return $"classes: must be ≥ 2 (or 0: max label + 1), got {Classes}";
        if (ClassNames is { } names && Classes > 0 && names.Count != Classes)
            yield return $"class_names: must name all {Classes} classes, got {names.Count}";
        if (ClassNames is { Count: < 2 } few) yield return $"class_names: must name at least two classes, got {few.Count}";
    }
}

/// <summary>
/// Images and labels from any IDX files (the MNIST format): images [N, H, W] become [N, 1, H, W], [N, H, W, C] become
/// [N, C, H, W], pixels x/255 in [0, 1]. The host normalises with statistics of the training split.
/// </summary>
[Plugin("idx", PluginKind.Dataset, OptionsType = typeof(IdxDatasetOptions),
    Description = "Images and labels from IDX files (MNIST format), any image size and class count")]
public sealed class IdxDataset(IdxDatasetOptions options) : IDatasetSource
{
    /// <inheritdoc />
    public DatasetSplits Load(DatasetContext context)
    {
        string trainImages = context.Resolve(options.TrainImages), trainLabelsPath = context.Resolve(options.TrainLabels);
        var (trainInputs, trainLabels) = ReadImages(trainImages, trainLabelsPath);
        long[] shape = trainInputs.shape[1..];
        int classes = options.Classes > 0 ? options.Classes
            : options.ClassNames is { } names ? names.Count
            : DataChecks.ClassCountOf(trainLabels, trainLabelsPath);
        var loaded = new List<TensorSplit>();
        try
        {
            var train = Owned(trainInputs, trainLabels, classes, trainLabelsPath, "training", loaded);
            var test = Load(options.TestImages, options.TestLabels, "test");
            TensorSplit? validation = string.IsNullOrWhiteSpace(options.ValidationImages) ? null
                : Load(options.ValidationImages, options.ValidationLabels!, "validation");
            return new DatasetSplits
            {
                Train = train, Validation = validation, Test = test, InputShape = shape,
                ClassNames = options.ClassNames ?? DataChecks.NumberedClasses(classes),
            };
        }
        catch
        {
            foreach (var split in loaded) split.Dispose();
            throw;
        }

        TensorSplit Load(string images, string labels, string split)
        {
            string imagesPath = context.Resolve(images), labelsPath = context.Resolve(labels);
            var (inputs, values) = ReadImages(imagesPath, labelsPath);
            if (!inputs.shape.AsSpan(1).SequenceEqual(shape))
            {
                var mismatch = new DataException(imagesPath, $"images are [{string.Join(", ", inputs.shape[1..])}] (C, H, W) but the training images {trainImages} are [{string.Join(", ", shape)}]");
                inputs.Dispose();
                throw mismatch;
            }
            return Owned(inputs, values, classes, labelsPath, split, loaded);
        }
    }

    /// <summary>A split owning <paramref name="inputs"/> (disposed when the labels are bad), added to <paramref name="loaded"/>.</summary>
    private static TensorSplit Owned(Tensor inputs, long[] labels, int classes, string labelsPath, string split, List<TensorSplit> loaded)
    {
        try
        {
            var owned = new TensorSplit(inputs, DataChecks.LabelTensor(labels, classes, labelsPath, split));
            loaded.Add(owned);
            return owned;
        }
        catch
        {
            inputs.Dispose();
            throw;
        }
    }

    /// <summary>Images float32 [N, C, H, W] in [0, 1] and labels of one IDX pair.</summary>
    private static (Tensor Inputs, long[] Labels) ReadImages(string imagesPath, string labelsPath)
    {
        var (dims, pixels) = IdxReader.Read(imagesPath, 3, 4);
        var (labelDims, labelBytes) = IdxReader.Read(labelsPath, 1);
        DataChecks.RequireSameRows(dims[0], labelDims[0], imagesPath, labelsPath);
        using var raw = tensor(pixels, dims.Select(d => (long)d).ToArray());
        using var scaled = raw.to_type(ScalarType.Float32).div_(255f);
        var images = dims.Length == 3 ? scaled.unsqueeze(1).clone() : scaled.permute(0, 3, 1, 2).contiguous();
        return (images, labelBytes.Select(b => (long)b).ToArray());
    }
}
