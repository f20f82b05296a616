using ScottPlot;

namespace SubnetworkEnsembles.Host.Reporting;

/// <summary>
/// Figures are written like every other file of a run: to a temporary file renamed into place, so a report drawn by two
/// gathers at once, or interrupted, never leaves a torn PNG for report.html to embed.
/// </summary>
public static class FigureFiles
{
    /// <summary>Renders <paramref name="plot"/> as a <paramref name="width"/> × <paramref name="height"/> PNG at <paramref name="file"/>, atomically.</summary>
    public static void SavePngAtomic(this Plot plot, string file, int width, int height) =>
        RunDirectory.WriteAtomic(file, tmp => File.WriteAllBytes(tmp, plot.GetImageBytes(width, height, ImageFormat.Png)));
}
