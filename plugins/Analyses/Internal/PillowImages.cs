namespace SubnetworkEnsembles.Analyses.Internal;

/// <summary>
/// The image operations Python's imagehash 4.3 relies on, as Pillow defines them for 8-bit images: greyscale ("L") from
/// RGB, HSV from RGB, and LANCZOS resizing (Pillow's two-pass separable resampling: horizontal, then vertical, each with
/// 22-bit fixed-point weights and rounding to 8 bits). Written from Pillow's published algorithm; not compared with
/// Pillow itself here (it is not installable offline), so hashes of images that need resizing may differ in rare bits.
/// Images are [height, width] (grey) or [height, width, 3] (RGB) byte arrays.
/// </summary>
internal static class PillowImages
{
    private const int PrecisionBits = 32 - 8 - 2;

    /// <summary>Pillow's RGB → L: (19595 R + 38470 G + 7471 B + 2¹⁵) >> 16, i.e. 0.299 R + 0.587 G + 0.114 B rounded.</summary>
    public static byte[,] Grey(byte[,,] rgb)
    {
        int h = rgb.GetLength(0), w = rgb.GetLength(1);
        var grey = new byte[h, w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                grey[y, x] = (byte)((rgb[y, x, 0] * 19595 + rgb[y, x, 1] * 38470 + rgb[y, x, 2] * 7471 + 0x8000) >> 16);
        return grey;
    }

    /// <summary>
    /// Pillow's RGB → HSV of one pixel (colorsys in single precision): V = max; S = (max − min)/max; H from the sector of
    /// the maximum, wrapped into [0, 1) by fmod(h/6 + 1, 1); H and S scaled by 255 and truncated; H = S = 0 for greys.
    /// </summary>
    public static (byte H, byte S, byte V) Hsv(byte r, byte g, byte b)
    {
        byte max = Math.Max(r, Math.Max(g, b)), min = Math.Min(r, Math.Min(g, b));
        if (max == min) return (0, 0, max);
        float cr = max - min;
        float s = cr / max;
        float rc = (max - r) / cr, gc = (max - g) / cr, bc = (max - b) / cr;
        float h = r == max ? bc - gc : g == max ? 2.0f + rc - bc : 4.0f + gc - rc;
        h = (float)((h / 6.0 + 1.0) % 1.0);
        return ((byte)Math.Clamp((int)(h * 255.0), 0, 255), (byte)Math.Clamp((int)(s * 255.0), 0, 255), max);
    }

    /// <summary>
    /// <paramref name="grey"/> resized to <paramref name="width"/> × <paramref name="height"/> with Pillow's LANCZOS filter
    /// (a = 3, support scaled by the reduction factor when shrinking); the image itself when the size already matches.
    /// </summary>
    public static byte[,] Resize(byte[,] grey, int width, int height)
    {
        int h = grey.GetLength(0), w = grey.GetLength(1);
        if (w == width && h == height) return (byte[,])grey.Clone();
        var horizontal = new byte[h, width];
        var (xBounds, xWeights) = Coefficients(w, width);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < width; x++)
            {
                int sum = 1 << (PrecisionBits - 1);
                for (int k = 0; k < xBounds[x].Count; k++) sum += grey[y, xBounds[x].First + k] * xWeights[x][k];
                horizontal[y, x] = Clip(sum);
            }
        var output = new byte[height, width];
        var (yBounds, yWeights) = Coefficients(h, height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int sum = 1 << (PrecisionBits - 1);
                for (int k = 0; k < yBounds[y].Count; k++) sum += horizontal[yBounds[y].First + k, x] * yWeights[y][k];
                output[y, x] = Clip(sum);
            }
        return output;
    }

    private static byte Clip(int sum) => (byte)Math.Clamp(sum >> PrecisionBits, 0, 255);

    /// <summary>Pillow's precompute_coeffs + normalize_coeffs_8bpc: per output pixel, the first input pixel, how many, and fixed-point weights.</summary>
    private static ((int First, int Count)[] Bounds, int[][] Weights) Coefficients(int inSize, int outSize)
    {
        const double Support = 3.0;
        double scale = (double)inSize / outSize, filterScale = Math.Max(scale, 1.0), support = Support * filterScale;
        var bounds = new (int, int)[outSize];
        var weights = new int[outSize][];
        for (int o = 0; o < outSize; o++)
        {
            double center = (o + 0.5) * scale, inverse = 1.0 / filterScale;
            int first = Math.Max((int)(center - support + 0.5), 0);
            int last = Math.Min((int)(center + support + 0.5), inSize);
            int count = last - first;
            var k = new double[count];
            double total = 0;
            for (int x = 0; x < count; x++) total += k[x] = Lanczos((x + first - center + 0.5) * inverse);
            weights[o] = k.Select(v => total != 0 ? v / total : v)
                .Select(v => (int)(v < 0 ? -0.5 + v * (1 << PrecisionBits) : 0.5 + v * (1 << PrecisionBits))).ToArray();
            bounds[o] = (first, count);
        }
        return (bounds, weights);
    }

    private static double Lanczos(double x) => x >= -3.0 && x < 3.0 ? Sinc(x) * Sinc(x / 3) : 0.0;

    private static double Sinc(double x) => x == 0.0 ? 1.0 : Math.Sin(x * Math.PI) / (x * Math.PI);
}
