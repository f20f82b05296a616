using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Datasets.Internal;

namespace SubnetworkEnsembles.Datasets;

/// <summary>Options of <see cref="ImageFolderDataset"/>.</summary>
public sealed class ImageFolderDatasetOptions : IValidatableOptions
{
    /// <summary>
    /// The image folder (YAML <c>directory:</c>; <c>data.root</c> is the host's own key): directory/train/CLASS/*.png|jpg|jpeg|bmp,
    /// directory/test/CLASS/…, optionally directory/val/CLASS/….
    /// </summary>
    public string Directory { get; set; } = "";

    /// <summary>Optional [H, W]: every image is resized (bilinear) to it; without it all images must have the first one's size.</summary>
    public List<int>? Resize { get; set; }

    /// <summary>1 (grey; colour images become their luma) or 3 (RGB); 0: 1 when the first image is grey, else 3.</summary>
    public int Channels { get; set; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory)) yield return "directory: must name the image folder (directory/train/CLASS/*.png, directory/test/CLASS/*.png)";
        if (Resize is not null && (Resize.Count != 2 || Resize.Any(s => s <= 0)))
            yield return $"resize: must be [H, W] with positive sizes, got [{string.Join(", ", Resize)}]";
        if (Channels is not (0 or 1 or 3)) yield return $"channels: must be 1 or 3 (or 0: from the first image), got {Channels}";
    }
}

/// <summary>
/// Images in the torchvision ImageFolder layout: root/{train,test[,val]}/CLASS/*.png|jpg|jpeg|bmp, classes the sorted
/// folder names of train (test and val may only use those). Streamed: loading lists the files and reads the first image of
/// every class for its size; each batch decodes only its rows into float32 [B, C, H, W] in [0, 1]. The host normalises with
/// statistics of the training split.
/// </summary>
[Plugin("image-folder", PluginKind.Dataset, OptionsType = typeof(ImageFolderDatasetOptions),
    Description = "Images in class folders (root/train/CLASS/*.png, root/test/…), decoded per batch, optional resize")]
public sealed class ImageFolderDataset(ImageFolderDatasetOptions options) : IDatasetSource
{
    /// <inheritdoc />
    public DatasetSplits Load(DatasetContext context)
    {
        string root = context.Resolve(options.Directory);
        if (!Directory.Exists(root)) throw new DataException(root, "directory not found; expected train/CLASS/*.png and test/CLASS/*.png in it");
        string trainDirectory = RequireDirectory(root, "train");
        var classes = Directory.GetDirectories(trainDirectory).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();
        DataChecks.RequireTwoClasses(classes.Count, trainDirectory);

        var train = List(trainDirectory, classes, "training");
        var test = List(RequireDirectory(root, "test"), classes, "test");
        string validationDirectory = Path.Combine(root, "val");
        var validation = Directory.Exists(validationDirectory) ? List(validationDirectory, classes, "validation") : null;

        string first = train.Files[0];
        var (height, width, natural) = ImageDecoder.Probe(first);
        bool resize = options.Resize is not null;
        if (resize) (height, width) = (options.Resize![0], options.Resize[1]);
        else
        {
            foreach (var file in new[] { train, test, validation }.OfType<FileList>().SelectMany(s => s.FirstOfEachClass))
            {
                var (h, w, _) = ImageDecoder.Probe(file);
                if (h != height || w != width)
                    throw new DataException(file, $"image is {h}×{w} (H×W) but {first} is {height}×{width}; set resize: [H, W] to use images of different sizes");
            }
        }
        long[] shape = [options.Channels > 0 ? options.Channels : natural, height, width];
        ImageFolderSplit Open(FileList list) => new(list.Files, list.Labels, shape, resize, first);
        return new DatasetSplits
        {
            Train = Open(train), Test = Open(test), Validation = validation is null ? null : Open(validation),
            InputShape = shape, ClassNames = classes,
        };
    }

    private static string RequireDirectory(string root, string split)
    {
        string directory = Path.Combine(root, split);
        if (!Directory.Exists(directory)) throw new DataException(directory, $"directory not found; an image folder holds {split}/CLASS/*.png (or .jpg, .jpeg, .bmp)");
        return directory;
    }

    /// <summary>The image files of one split (class by class, names sorted), their labels and each class's first file.</summary>
    private sealed record FileList(List<string> Files, long[] Labels, List<string> FirstOfEachClass);

    private static FileList List(string directory, List<string> classes, string split)
    {
        var files = new List<string>();
        var labels = new List<long>();
        var firsts = new List<string>();
        foreach (var folder in Directory.GetDirectories(directory).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(folder);
            int label = classes.IndexOf(name);
            if (label < 0) throw new DataException(folder, $"class '{name}' is not a class of the training folder ({string.Join(", ", classes)})");
            var images = Directory.GetFiles(folder).Where(f => ImageDecoder.Extensions.Contains(Path.GetExtension(f))).Order(StringComparer.Ordinal).ToList();
            if (images.Count > 0) firsts.Add(images[0]);
            files.AddRange(images);
            labels.AddRange(Enumerable.Repeat((long)label, images.Count));
        }
        DataChecks.RequireRows(files.Count, directory, split);
        return new FileList(files, [.. labels], firsts);
    }
}
