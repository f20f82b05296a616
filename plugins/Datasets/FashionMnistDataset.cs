using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Datasets.Internal;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Datasets;

/// <summary>Options of <see cref="FashionMnistDataset"/>.</summary>
public sealed class FashionMnistDatasetOptions : IValidatableOptions
{
    /// <summary>Directory of the four original IDX files (optionally .gz); Debian's <c>dataset-fashion-mnist</c> installs them here.</summary>
    public string Directory { get; set; } = "/usr/share/datasets/fashion-mnist";

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory)) yield return "directory: must name the directory of the Fashion-MNIST IDX files";
    }
}

/// <summary>
/// Fashion-MNIST (Xiao et al. 2017) from its four IDX files: 60 000 training and 10 000 test images [1, 28, 28] with pixels
/// x/255 in [0, 1], ten classes, normalised by the published statistics (x − 0.2860)/0.3530. The host carves the
/// validation rows from the training file.
/// </summary>
[Plugin("fashion-mnist", PluginKind.Dataset, OptionsType = typeof(FashionMnistDatasetOptions),
    Description = "Fashion-MNIST from its IDX files (28×28 grey images, 10 classes)")]
public sealed class FashionMnistDataset(FashionMnistDatasetOptions options) : IDatasetSource
{
    /// <summary>Published pixel mean and standard deviation of x/255 over the training set.</summary>
    public const float Mean = 0.2860f, Std = 0.3530f;

    /// <summary>The ten class names in label order.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    private const string Install = "install Fashion-MNIST with 'apt-get install -y dataset-fashion-mnist' or set data.directory";

    /// <inheritdoc />
    public DatasetSplits Load(DatasetContext context)
    {
        string directory = context.Resolve(options.Directory);
        if (!System.IO.Directory.Exists(directory)) throw new DataException(directory, "directory not found; " + Install);
        var train = ReadPair(directory, "train");
        try
        {
            var test = ReadPair(directory, "t10k");
            return new DatasetSplits { Train = train, Test = test, InputShape = [1, 28, 28], ClassNames = ClassNames, Normalization = new([Mean], [Std]) };
        }
        catch
        {
            train.Dispose();
            throw;
        }
    }

    /// <summary>Reads {prefix}-images-idx3-ubyte(.gz) and {prefix}-labels-idx1-ubyte(.gz): pixels as float32 x/255.</summary>
    private static TensorSplit ReadPair(string directory, string prefix)
    {
        string imagesPath = Find(directory, $"{prefix}-images-idx3-ubyte");
        string labelsPath = Find(directory, $"{prefix}-labels-idx1-ubyte");
        var (dims, pixels) = IdxReader.Read(imagesPath, 3);
        var (labelDims, labelBytes) = IdxReader.Read(labelsPath, 1);
        if (dims[1] != 28 || dims[2] != 28) throw new DataException(imagesPath, $"images are {dims[1]}×{dims[2]}, expected 28×28");
        DataChecks.RequireSameRows(dims[0], labelDims[0], imagesPath, labelsPath);
        var labels = DataChecks.LabelTensor(labelBytes.Select(b => (long)b).ToArray(), 10, labelsPath, prefix == "train" ? "training" : "test");
        using var raw = tensor(pixels, [dims[0], 1, 28, 28]);
        return new TensorSplit(raw.to_type(ScalarType.Float32).div_(255f), labels);
    }

    private static string Find(string directory, string stem)
    {
        foreach (var candidate in new[] { stem + ".gz", stem })
        {
            string path = Path.Combine(directory, candidate);
            if (File.Exists(path)) return path;
        }
        throw new DataException(Path.Combine(directory, stem + ".gz"), "file not found; " + Install);
    }
}
