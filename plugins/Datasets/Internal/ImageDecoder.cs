using SkiaSharp;
using SubnetworkEnsembles.Abstractions;

namespace SubnetworkEnsembles.Datasets.Internal;

/// <summary>Decodes image files (PNG, JPEG, BMP, …) with SkiaSharp into float32 pixels in [0, 1], channel-major [C, H, W].</summary>
public static class ImageDecoder
{
    /// <summary>The file extensions an image folder lists (lower case, with the dot).</summary>
    public static IReadOnlySet<string> Extensions { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".png", ".jpg", ".jpeg", ".bmp" };

    /// <summary>Height, width and natural channel count (1 for a grey image, else 3) of <paramref name="path"/>, reading only its header.</summary>
    public static (int Height, int Width, int Channels) Probe(string path)
    {
        using var codec = Open(path);
        return (codec.Info.Height, codec.Info.Width, codec.Info.ColorType == SKColorType.Gray8 ? 1 : 3);
    }

    /// <summary>
    /// Decodes <paramref name="path"/> into <paramref name="target"/> (length C·H·W, [C, H, W], values x/255): resized to
    /// <paramref name="height"/>×<paramref name="width"/> (bilinear) when <paramref name="resize"/>, else the image must have
    /// that size (<paramref name="sizeSource"/> names the file it was taken from). One channel: the grey value (exactly x/255), or the
    /// luma 0.299 R + 0.587 G + 0.114 B of a colour image; three: R, G, B (alpha is dropped).
    /// </summary>
    public static void Decode(string path, int channels, int height, int width, bool resize, string sizeSource, Span<float> target)
    {
        using var codec = Open(path);
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        if (!resize && (info.Height != height || info.Width != width))
            throw new DataException(path, $"image is {info.Height}×{info.Width} (H×W) but {sizeSource} is {height}×{width}; set resize: [H, W] to use images of different sizes");
        using var decoded = SKBitmap.Decode(codec, info)
            ?? throw new DataException(path, "cannot be decoded as an image (expected PNG, JPEG or BMP)");
        using var sized = info.Height == height && info.Width == width ? null
            : decoded.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None))
              ?? throw new DataException(path, $"cannot be resized to {height}×{width}");
        var bitmap = sized ?? decoded;
        ReadOnlySpan<byte> pixels = bitmap.GetPixelSpan();
        int plane = height * width;
        for (int y = 0; y < height; y++)
        {
            var row = pixels.Slice(y * bitmap.RowBytes, width * 4);
            for (int x = 0; x < width; x++)
            {
                byte r = row[4 * x], g = row[4 * x + 1], b = row[4 * x + 2];
                int at = y * width + x;
                if (channels == 1) target[at] = (r == g && g == b ? r : 0.299f * r + 0.587f * g + 0.114f * b) / 255f;
                else
                {
                    target[at] = r / 255f;
                    target[plane + at] = g / 255f;
                    target[2 * plane + at] = b / 255f;
                }
            }
        }
    }

    private static SKCodec Open(string path)
    {
        if (!File.Exists(path)) throw new DataException(path, "file not found");
        try
        {
            return SKCodec.Create(path) ?? throw new DataException(path, "cannot be decoded as an image (expected PNG, JPEG or BMP)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException(path, $"cannot be read ({e.Message})", e);
        }
    }
}
