using static TorchSharp.torch;

namespace SubnetworkEnsembles.Analyses.Internal;

/// <summary>Figures as plain images: a grid of equally sized cells separated by white lines.</summary>
internal static class ImageGrid
{
    /// <summary>
    /// Composes <paramref name="cells"/>[row][column] (each float [1, H, W] grey or [3, H, W] RGB in [0, 1], all of one
    /// H × W) into one RGB image [3, rows·(k·H + 2) + 2, columns·(k·W + 2) + 2], each cell enlarged k times (nearest
    /// neighbour) so that it is at least <paramref name="minimumCell"/> pixels high.
    /// </summary>
    public static Tensor Compose(IReadOnlyList<IReadOnlyList<Tensor>> cells, int minimumCell = 64)
    {
        using var scope = NewDisposeScope();
        long h = cells[0][0].shape[^2], w = cells[0][0].shape[^1];
        long k = Math.Max(1, (minimumCell + h - 1) / h);
        long cellH = h * k, cellW = w * k;
        int rows = cells.Count, columns = cells.Max(r => r.Count);
        var canvas = ones(3, rows * (cellH + 2) + 2, columns * (cellW + 2) + 2);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cells[r].Count; c++)
            {
                var cell = cells[r][c].reshape(-1, h, w).expand(3, h, w).repeat_interleave(k, 1).repeat_interleave(k, 2);
                canvas.narrow(1, 2 + r * (cellH + 2), cellH).narrow(2, 2 + c * (cellW + 2), cellW).copy_(cell);
            }
        return canvas.MoveToOuterDisposeScope();
    }

    /// <summary>An input row as a picture: [C, H, W] with C = 1 or 3 (or a row [F] as 1 × F) min–max scaled to [0, 1].</summary>
    public static Tensor Picture(Tensor input)
    {
        using var scope = NewDisposeScope();
        var image = input.dim() == 3 && (input.shape[0] == 1 || input.shape[0] == 3) ? input : input.reshape(1, 1, -1);
        var low = image.min();
        var span = image.max().sub(low).clamp_min(1e-12);
        return image.sub(low).div(span).cpu().MoveToOuterDisposeScope();
    }
}
