using SubnetworkEnsembles.Abstractions;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Datasets.Internal;

/// <summary>
/// A streamed split of image files: only the file list and labels are held; <see cref="Read"/> decodes the rows asked for
/// into float32 [B, C, H, W] in [0, 1].
/// </summary>
/// <param name="files">One image file per row.</param>
/// <param name="labels">The class index of each row.</param>
/// <param name="shape">[C, H, W] every row is decoded to.</param>
/// <param name="resize">True: images of another size are resized; false: they are a <see cref="DataException"/>.</param>
/// <param name="sizeSource">The file the size H×W was taken from (named in the mixed-sizes message).</param>
public sealed class ImageFolderSplit(IReadOnlyList<string> files, long[] labels, long[] shape, bool resize, string sizeSource) : IDataSplit
{
    /// <summary>The image file of each row.</summary>
    public IReadOnlyList<string> Files { get; } = files;

    /// <inheritdoc />
    public long Count => Files.Count;

    /// <inheritdoc />
    public Tensor Labels { get; } = tensor(labels, [labels.LongLength]);

    /// <inheritdoc />
    public Tensor Read(Tensor rows)
    {
        long[] indices = rows.data<long>().ToArray();
        int channels = (int)shape[0], height = (int)shape[1], width = (int)shape[2];
        int size = channels * height * width;
        var values = new float[indices.Length * size];
        for (int i = 0; i < indices.Length; i++)
        {
            long row = indices[i];
            if (row < 0 || row >= Count) throw new ArgumentOutOfRangeException(nameof(rows), $"row {row} is outside 0 … {Count - 1}");
            ImageDecoder.Decode(Files[(int)row], channels, height, width, resize, sizeSource, values.AsSpan(i * size, size));
        }
        return tensor(values, [indices.Length, channels, height, width]);
    }

    /// <inheritdoc />
    public void Dispose() => Labels.Dispose();
}
