using static TorchSharp.torch;

namespace SubnetworkEnsembles.Analyses.Internal;

/// <summary>Plots drawn as plain RGB images (float [3, H, W] in [0, 1]) for <see cref="ImageGrid"/> and PngImages.</summary>
internal static class Plots
{
    /// <summary>The ten colours of matplotlib's tab10 (RGB in [0, 1]); class c gets colour c mod 10.</summary>
    public static readonly double[][] Palette =
    [
        [0.122, 0.467, 0.706], [1.000, 0.498, 0.055], [0.173, 0.627, 0.173], [0.839, 0.153, 0.157], [0.580, 0.404, 0.741],
        [0.549, 0.337, 0.294], [0.890, 0.467, 0.761], [0.498, 0.498, 0.498], [0.737, 0.741, 0.133], [0.090, 0.745, 0.812],
    ];

    /// <summary>
    /// A scatter plot on white, <paramref name="size"/> × <paramref name="size"/> pixels: point i at
    /// <paramref name="x"/>[i], <paramref name="y"/>[i] mapped linearly from <paramref name="bounds"/> (x min, x max, y min,
    /// y max; y grows upwards) with a 4-pixel margin, drawn as a 3 × 3 square of <paramref name="colours"/>[i] (RGB in
    /// [0, 1]); later points are drawn over earlier ones.
    /// </summary>
    public static Tensor Scatter(double[] x, double[] y, IReadOnlyList<double[]> colours, (double X0, double X1, double Y0, double Y1) bounds, int size = 256)
    {
        var pixels = new float[3 * size * size];
        Array.Fill(pixels, 1f);
        double sx = (size - 9) / Math.Max(bounds.X1 - bounds.X0, 1e-12), sy = (size - 9) / Math.Max(bounds.Y1 - bounds.Y0, 1e-12);
        for (int i = 0; i < x.Length; i++)
        {
            int cx = 4 + (int)Math.Round((x[i] - bounds.X0) * sx), cy = size - 5 - (int)Math.Round((y[i] - bounds.Y0) * sy);
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++)
                {
                    int px = Math.Clamp(cx + dx, 0, size - 1), py = Math.Clamp(cy + dy, 0, size - 1);
                    for (int c = 0; c < 3; c++) pixels[c * size * size + py * size + px] = (float)colours[i][c];
                }
        }
        return tensor(pixels).reshape(3, size, size);
    }

    /// <summary>
    /// A heat map of <paramref name="values"/>[row][column] (row 0 at the bottom), enlarged by bilinear interpolation to
    /// <paramref name="size"/> × <paramref name="size"/>, coloured from dark blue (<paramref name="low"/>) to yellow
    /// (<paramref name="high"/>; values outside are clamped), with black contour lines where the value crosses one of
    /// <paramref name="levels"/> evenly spaced levels between low and high, and a white 3 × 3 mark at the centre.
    /// </summary>
    public static Tensor Heatmap(double[][] values, double low, double high, int levels = 12, int size = 256)
    {
        int rows = values.Length, columns = values[0].Length;
        var pixels = new float[3 * size * size];
        var level = new int[size, size];
        double span = Math.Max(high - low, 1e-12);
        for (int py = 0; py < size; py++)
            for (int px = 0; px < size; px++)
            {
                double fy = (size - 1 - py) * (rows - 1.0) / (size - 1), fx = px * (columns - 1.0) / (size - 1);
                int r0 = Math.Min((int)fy, rows - 2 < 0 ? 0 : rows - 2), c0 = Math.Min((int)fx, columns - 2 < 0 ? 0 : columns - 2);
                int r1 = Math.Min(r0 + 1, rows - 1), c1 = Math.Min(c0 + 1, columns - 1);
                double ty = fy - r0, tx = fx - c0;
                double v = (1 - ty) * ((1 - tx) * values[r0][c0] + tx * values[r0][c1]) + ty * ((1 - tx) * values[r1][c0] + tx * values[r1][c1]);
                double t = Math.Clamp((v - low) / span, 0, 1);
                level[py, px] = double.IsFinite(v) ? (int)Math.Floor(t * levels * 0.9999) : -1;
                var colour = Colour(double.IsFinite(v) ? t : 1);
                for (int c = 0; c < 3; c++) pixels[c * size * size + py * size + px] = (float)colour[c];
            }
        for (int py = 0; py < size - 1; py++)
            for (int px = 0; px < size - 1; px++)
                if (level[py, px] != level[py + 1, px] || level[py, px] != level[py, px + 1])
                    for (int c = 0; c < 3; c++) pixels[c * size * size + py * size + px] = 0;
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++)
                for (int c = 0; c < 3; c++) pixels[c * size * size + (size / 2 + dy) * size + size / 2 + dx] = 1;
        return tensor(pixels).reshape(3, size, size);
    }

    /// <summary>A viridis-like map of t ∈ [0, 1]: dark blue → teal → green → yellow (piecewise linear, RGB in [0, 1]).</summary>
    public static double[] Colour(double t)
    {
        double[][] stops = [[0.267, 0.005, 0.329], [0.231, 0.322, 0.545], [0.129, 0.569, 0.549], [0.369, 0.788, 0.384], [0.993, 0.906, 0.144]];
        double f = Math.Clamp(t, 0, 1) * (stops.Length - 1);
        int i = Math.Min((int)f, stops.Length - 2);
        double u = f - i;
        return [.. Enumerable.Range(0, 3).Select(c => stops[i][c] + u * (stops[i + 1][c] - stops[i][c]))];
    }
}
