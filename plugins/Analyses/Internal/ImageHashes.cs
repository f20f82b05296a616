namespace SubnetworkEnsembles.Analyses.Internal;

/// <summary>
/// The image hashes of Python's imagehash 4.3 (J. Buchner; dissertation §7.3.1, ref. [14]) with its default sizes,
/// re-implemented from its published definitions. Grey images are [height, width] bytes (Pillow "L"), colour images
/// [height, width, 3] (RGB). Bits are in row-major order of the hash matrix (imagehash's <c>hash.flatten()</c>).
/// </summary>
internal static class ImageHashes
{
    /// <summary>Average hash: resize to 8 × 8, bit = pixel &gt; mean of the 64 pixels. 64 bits.</summary>
    public static bool[] Average(byte[,] grey)
    {
        var p = Flat(PillowImages.Resize(grey, 8, 8));
        double mean = p.Average();
        return p.Select(v => v > mean).ToArray();
    }

    /// <summary>
    /// Perceptual hash: resize to 32 × 32, 2-D DCT-II (scipy.fftpack's unnormalised y_k = 2 Σₙ xₙ cos(πk(2n+1)/2N), along
    /// the rows' axis, then the columns'), keep the 8 × 8 lowest frequencies [k &lt; 8, l &lt; 8], bit = coefficient &gt;
    /// their median. 64 bits.
    /// </summary>
    public static bool[] Perceptual(byte[,] grey)
    {
        const int N = 32, Low = 8;
        var p = PillowImages.Resize(grey, N, N);
        var cos = new double[Low, N];
        for (int k = 0; k < Low; k++)
            for (int n = 0; n < N; n++) cos[k, n] = Math.Cos(Math.PI * k * (2 * n + 1) / (2.0 * N));
        var alongRows = new double[Low, N];            // DCT over axis 0 (down each column), first 8 frequencies
        for (int k = 0; k < Low; k++)
            for (int m = 0; m < N; m++)
            {
                double s = 0;
                for (int n = 0; n < N; n++) s += p[n, m] * cos[k, n];
                alongRows[k, m] = 2 * s;
            }
        var low = new double[Low * Low];               // then over axis 1 (along each row)
        for (int k = 0; k < Low; k++)
            for (int l = 0; l < Low; l++)
            {
                double s = 0;
                for (int m = 0; m < N; m++) s += alongRows[k, m] * cos[l, m];
                low[k * Low + l] = 2 * s;
            }
        double median = Median(low);
        return low.Select(v => v > median).ToArray();
    }

    /// <summary>Difference hash: resize to 9 wide × 8 high, bit [r, c] = pixel[r, c + 1] &gt; pixel[r, c] (c &lt; 8). 64 bits.</summary>
    public static bool[] Difference(byte[,] grey)
    {
        var p = PillowImages.Resize(grey, 9, 8);
        var bits = new bool[64];
        for (int r = 0; r < 8; r++)
            for (int c = 0; c < 8; c++) bits[r * 8 + c] = p[r, c + 1] > p[r, c];
        return bits;
    }

    /// <summary>
    /// Wavelet hash (Haar, remove_max_haar_ll): resize to S × S, S = max(2^⌊log₂ min(w, h)⌋, 8); remove the mean (the
    /// coarsest Haar LL); the Haar LL band at level log₂(S/8) is, per 2^L × 2^L block, the block's sum / 2^L; bit = LL &gt;
    /// median of the 64. Computed exactly from integer block sums (subtracting the mean and scaling keep the order);
    /// pywt's floating-point rounding can only break exact ties with the median differently. 64 bits.
    /// </summary>
    public static bool[] Wavelet(byte[,] grey)
    {
        int natural = 1 << (int)Math.Floor(Math.Log2(Math.Min(grey.GetLength(0), grey.GetLength(1))));
        int size = Math.Max(natural, 8), block = size / 8;
        var p = PillowImages.Resize(grey, size, size);
        var sums = new double[64];
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) sums[y / block * 8 + x / block] += p[y, x];
        double median = Median(sums);
        return sums.Select(v => v > median).ToArray();
    }

    /// <summary>
    /// Colour hash (binbits bits per fraction, 14 fractions): of all pixels, the fraction black (L &lt; 32) and grey
    /// (not black, S &lt; 85); of the coloured rest (c pixels, at least 1), the fractions in 6 hue bins (edges
    /// linspace(0, 255, 7), the last closed) of the faint (S &lt; 170) and of the bright (S &gt; 170) ones. Each
    /// fraction f becomes v = min(2^b − 1, ⌊f · 2^b⌋), written as the bits [⌊v / 2^(b−1−i)⌋ mod 2^(b−i) &gt; 0 for i = 0 … b−1]
    /// exactly as imagehash writes them. 14 · binbits bits (42 for the default 3).
    /// </summary>
    public static bool[] Colour(byte[,,] rgb, int binbits = 3)
    {
        int h = rgb.GetLength(0), w = rgb.GetLength(1), n = h * w;
        var grey = PillowImages.Grey(rgb);
        int black = 0, grays = 0, colours = 0;
        var faint = new int[6];
        var bright = new int[6];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                var (hue, saturation, _) = PillowImages.Hsv(rgb[y, x, 0], rgb[y, x, 1], rgb[y, x, 2]);
                if (grey[y, x] < 256 / 8) { black++; continue; }
                if (saturation < 256 / 3) { grays++; continue; }
                colours++;
                int bin = Math.Min((int)(hue / (255.0 / 6)), 5);
                if (saturation < 256 * 2 / 3) faint[bin]++;
                else if (saturation > 256 * 2 / 3) bright[bin]++;
            }
        int max = 1 << binbits, c = Math.Max(1, colours);
        var values = new List<int> { Math.Min(max - 1, (int)((double)black / n * max)), Math.Min(max - 1, (int)((double)grays / n * max)) };
        values.AddRange(faint.Concat(bright).Select(count => Math.Min(max - 1, (int)((double)count / c * max))));
        return values.SelectMany(v => Enumerable.Range(0, binbits).Select(i => v / (1 << (binbits - i - 1)) % (1 << (binbits - i)) > 0)).ToArray();
    }

    /// <summary>The number of positions at which two hashes of one kind differ.</summary>
    public static int Hamming(bool[] a, bool[] b) => a.Zip(b).Count(p => p.First != p.Second);

    private static double[] Flat(byte[,] image) => image.Cast<byte>().Select(v => (double)v).ToArray();

    /// <summary>numpy.median: the middle value, or the mean of the two middle values of an even count.</summary>
    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        int m = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
    }
}
