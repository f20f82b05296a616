using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Data;

/// <summary>Loads the dataset a <see cref="DataSpec"/> names, fully into memory as tensors (CPU).</summary>
public static class DatasetLoader
{
    /// <summary>Fashion-MNIST pixel mean and standard deviation (of x/255 over the training set).</summary>
    public const float FashionMean = 0.2860f, FashionStd = 0.3530f;

    /// <summary>Input shape of one sample and number of classes of the dataset <paramref name="spec"/> names, without loading it.</summary>
    public static (long[] InputShape, int Classes) ShapeOf(DataSpec spec) => spec.Dataset switch
    {
        DatasetName.FashionMnist => ([1, 28, 28], 10),
        _ => ([2], 2),
    };

    /// <summary>Loads and splits. Throws <see cref="DataFileException"/> for missing or corrupt files.</summary>
    public static DataSplits Load(DataSpec spec) => spec.Dataset switch
    {
        DatasetName.FashionMnist => LoadFashionMnist(spec),
        _ => LoadSpirals(spec),
    };

    private static DataSplits LoadFashionMnist(DataSpec spec)
    {
        if (!System.IO.Directory.Exists(spec.Directory))
            throw new DataFileException(spec.Directory, "directory not found; install Fashion-MNIST with 'apt-get install -y dataset-fashion-mnist' or set data.directory");
        var trainAll = ReadPair(spec.Directory, "train");
        var test = ReadPair(spec.Directory, "t10k");
        test.Truncate(spec.TestSubset);
        if (spec.Validation >= trainAll.Count)
            throw new DataFileException(spec.Directory, $"data.validation ({spec.Validation}) must be smaller than the {trainAll.Count} training rows");
        var (train, validation) = Split(trainAll, spec.Validation, spec.SplitSeed);
        trainAll.Dispose();
        train.Truncate(spec.TrainSubset);
        return new DataSplits("fashion-mnist", train, validation, test, [1, 28, 28], 10);
    }

    /// <summary>Reads {prefix}-images-idx3-ubyte(.gz) and {prefix}-labels-idx1-ubyte(.gz) and normalises the pixels.</summary>
    private static InMemoryDataset ReadPair(string directory, string prefix)
    {
        string imagesPath = Find(directory, $"{prefix}-images-idx3-ubyte");
        string labelsPath = Find(directory, $"{prefix}-labels-idx1-ubyte");
        var (dims, pixels) = IdxFile.Read(imagesPath, 3);
        var (labelDims, labelBytes) = IdxFile.Read(labelsPath, 1);
        if (dims[1] != 28 || dims[2] != 28) throw new DataFileException(imagesPath, $"images are {dims[1]}×{dims[2]}, expected 28×28");
        if (labelDims[0] != dims[0]) throw new DataFileException(labelsPath, $"has {labelDims[0]} labels but {imagesPath} has {dims[0]} images");
        int bad = Array.FindIndex(labelBytes, b => b > 9);
        if (bad >= 0) throw new DataFileException(labelsPath, $"label {labelBytes[bad]} at row {bad} is outside 0…9");
        using var raw = tensor(pixels, [dims[0], 1, 28, 28]);
        var images = raw.to_type(ScalarType.Float32).div_(255f).sub_(FashionMean).div_(FashionStd);
        var labels = tensor(labelBytes.Select(b => (long)b).ToArray(), [labelDims[0]]);
        return new InMemoryDataset(images, labels);
    }

    private static string Find(string directory, string stem)
    {
        foreach (var candidate in new[] { stem + ".gz", stem })
        {
            string path = Path.Combine(directory, candidate);
            if (File.Exists(path)) return path;
        }
        throw new DataFileException(Path.Combine(directory, stem + ".gz"), "file not found; install Fashion-MNIST with 'apt-get install -y dataset-fashion-mnist' or set data.directory");
    }

    /// <summary>Deterministic split: a permutation seeded by <paramref name="seed"/>; its first <paramref name="validation"/> rows validate.</summary>
    private static (InMemoryDataset Train, InMemoryDataset Validation) Split(InMemoryDataset all, int validation, long seed)
    {
        using var g = new Generator((ulong)Seeds.Derive(seed, "validation-split"));
        using var perm = randperm(all.Count, generator: g);
        using var valIdx = perm.narrow(0, 0, validation);
        using var trainIdx = perm.narrow(0, validation, all.Count - validation).sort().Values;
        return (all.Select(trainIdx), all.Select(valIdx));
    }

    /// <summary>
    /// Two interleaved spirals (SPEC §2): class c ∈ {0, 1}, angle θ = 3π·√u with u ~ U(0, 1),
    /// point (−1)^c · (θ cos θ, θ sin θ) / 3π·… scaled to about [−1, 1], plus 𝒩(0, noise²)/(3π) noise.
    /// </summary>
    private static DataSplits LoadSpirals(DataSpec spec)
    {
        using var g = new Generator((ulong)Seeds.Derive(spec.SplitSeed, "spirals"));
        var all = Spirals(spec.Points + spec.TestPoints, spec.Noise, g);
        using var trainIdx = arange(spec.Points - spec.Validation);
        using var valIdx = arange(spec.Points - spec.Validation, spec.Points);
        using var testIdx = arange(spec.Points, spec.Points + spec.TestPoints);
        var train = all.Select(trainIdx);
        train.Truncate(spec.TrainSubset);
        var splits = new DataSplits("spirals", train, all.Select(valIdx), all.Select(testIdx), [2], 2);
        all.Dispose();
        return splits;
    }

    private static InMemoryDataset Spirals(int n, double noise, Generator g)
    {
        const double turns = 3 * Math.PI;
        using var u = rand([n], generator: g, dtype: ScalarType.Float64);
        using var cls = randint(0, 2, [n], generator: g);
        using var theta = u.sqrt().mul(turns);
        using var sign = cls.to_type(ScalarType.Float64).mul(-2).add(1);            // +1 for class 0, −1 for class 1
        using var x = theta.cos().mul(theta).mul(sign);
        using var y = theta.sin().mul(theta).mul(sign);
        using var eps = randn([n, 2], generator: g, dtype: ScalarType.Float64).mul(noise);
        using var points = stack([x, y], 1).add(eps).div(turns);
        return new InMemoryDataset(points.to_type(ScalarType.Float32), cls.clone());
    }
}
