using static TorchSharp.torch;

namespace SubnetworkEnsembles.Abstractions;

/// <summary>
/// One trained network an analysis looks at: the parent (<see cref="ChildIndex"/> = −1) or an ensemble member.
/// </summary>
/// <param name="Name">"parent" or "child N", as tables and figures label it.</param>
/// <param name="ChildIndex">The child's index, −1 for the parent.</param>
/// <param name="Network">The network in evaluation mode on <see cref="AnalysisContext.Device"/>: input [n, …input shape] → logits [n, C]. Read it; never change its weights.</param>
/// <param name="TestProbabilities">Its saved softmax outputs on the whole test split, float32 [N, C] on the CPU (rows sum to 1).</param>
public sealed record AnalysisMember(string Name, int ChildIndex, nn.Module<Tensor, Tensor> Network, Tensor TestProbabilities);

/// <summary>
/// What an <see cref="IAnalysis"/> sees of a finished run. The host owns every tensor and network here and disposes them
/// after <see cref="IAnalysis.Run"/> returns; what the analysis makes (batches it reads, networks from
/// <see cref="BuildUntunedChild"/>) it disposes itself.
/// </summary>
public sealed class AnalysisContext
{
    /// <summary>The parent first (always, even when it is not an ensemble member), then every ensemble member in the ensemble's order.</summary>
    public required IReadOnlyList<AnalysisMember> Members { get; init; }

    /// <summary>Shape of one sample, e.g. [1, 28, 28] or [2].</summary>
    public required long[] InputShape { get; init; }

    /// <summary>Number of classes C.</summary>
    public required int Classes { get; init; }

    /// <summary>The device of the networks and of the batches read.</summary>
    public required Device Device { get; init; }

    /// <summary>Rows in the test split (N).</summary>
    public required long TestRows { get; init; }

    /// <summary>True classes of the test split, int64 [N] on the CPU.</summary>
    public required Tensor TestLabels { get; init; }

    /// <summary>
    /// Reads test rows by index: inputs float32 [n, …<see cref="InputShape"/>] (normalised as the networks saw them, never
    /// augmented) and labels int64 [n], on <see cref="Device"/>, owned by the caller.
    /// </summary>
    public required Func<long[], LabeledBatch> ReadTestRows { get; init; }

    /// <summary>Rows in the training split (0 when the host gives none).</summary>
    public long TrainingRows { get; init; }

    /// <summary>Reads training rows by index, as <see cref="ReadTestRows"/> (before augmentation); null when the host gives none.</summary>
    public Func<long[], LabeledBatch>? ReadTrainingRows { get; init; }

    /// <summary>
    /// The training loss the run minimises: (logits [n, C], labels int64 [n]) → scalar tensor (mean cross-entropy by
    /// default). For loss surfaces.
    /// </summary>
    public Func<Tensor, Tensor, Tensor> Loss { get; init; } = (logits, labels) => nn.functional.cross_entropy(logits, labels);

    /// <summary>
    /// Regenerates child i before tuning (after ϕ and ξ, exactly as the run made it, from its seeds); the caller
    /// disposes the network. Null when the host cannot (e.g. in the test kit). For comparing a child before and after tuning.
    /// </summary>
    public Func<int, nn.Module<Tensor, Tensor>>? BuildUntunedChild { get; init; }

    /// <summary>The analysis's own random stream, seeded from (run seed, "analysis/NAME"): draw everything random from it.</summary>
    public required Generator Generator { get; init; }

    /// <summary>The run's seed.</summary>
    public long RunSeed { get; init; }

    /// <summary>
    /// An empty directory the analysis writes its figures into (PNG); its files end up in the run directory under
    /// <c>analyses/NAME/</c> and in the report. Name them in <see cref="AnalysisOutput.Figures"/>.
    /// </summary>
    public required string FigureDirectory { get; init; }

    /// <summary>Writes one line to the run's log.</summary>
    public Action<string> Log { get; init; } = _ => { };

    /// <summary>Test rows <paramref name="rows"/> (see <see cref="ReadTestRows"/>).</summary>
    public LabeledBatch ReadTest(long[] rows) => ReadTestRows(rows);

    /// <summary>
    /// Saves <paramref name="image"/> (float [3, H, W] RGB or [1, H, W] / [H, W] grey, values in [0, 1], clamped) as
    /// <paramref name="fileName"/> (a PNG in <see cref="FigureDirectory"/>) and returns its figure entry.
    /// </summary>
    public AnalysisFigure SaveImage(string fileName, Tensor image, string caption)
    {
        if (fileName.IndexOfAny(['/', '\\']) >= 0 || !fileName.EndsWith(".png", StringComparison.Ordinal))
            throw new ArgumentException($"a figure is a PNG file name without folders, got '{fileName}'", nameof(fileName));
        PngImages.Write(Path.Combine(FigureDirectory, fileName), image);
        return new AnalysisFigure(fileName, caption);
    }
}

/// <summary>A named table: <see cref="Values"/>[r][c] belongs to row <see cref="RowLabels"/>[r] and column <see cref="ColumnLabels"/>[c].</summary>
/// <param name="Name">Key of the table in results.json, e.g. "rmse" or "ahash".</param>
/// <param name="RowLabels">One label per row (e.g. member names).</param>
/// <param name="ColumnLabels">One label per column.</param>
/// <param name="Values">Rows × columns values (NaN where undefined).</param>
/// <param name="Caption">What the table shows, for the report.</param>
public sealed record AnalysisTable(string Name, IReadOnlyList<string> RowLabels, IReadOnlyList<string> ColumnLabels, double[][] Values, string Caption = "");

/// <summary>A figure written into <see cref="AnalysisContext.FigureDirectory"/>: its file name and caption.</summary>
/// <param name="File">The PNG's file name (no folders).</param>
/// <param name="Caption">What it shows: rows, columns, colour scale.</param>
public sealed record AnalysisFigure(string File, string Caption);

/// <summary>What an analysis returns: named scalars, named tables and the figures it wrote.</summary>
public sealed record AnalysisOutput
{
    /// <summary>Named values, e.g. "mean_rmse".</summary>
    public IReadOnlyDictionary<string, double> Scalars { get; init; } = new Dictionary<string, double>();

    /// <summary>Named tables (names unique within the analysis).</summary>
    public IReadOnlyList<AnalysisTable> Tables { get; init; } = [];

    /// <summary>The figures written, in the order the report shows them.</summary>
    public IReadOnlyList<AnalysisFigure> Figures { get; init; } = [];
}

/// <summary>
/// An analysis of a finished run (dissertation ch. 5 and 7: saliency, hashes, t-SNE, loss surfaces): runs after the
/// ensemble on the saved networks and writes tables into results.json ("analyses") and figures into the report.
/// Selected with <c>analyses: [NAME, …]</c>, or later with <c>sne analyze RUN --set analyses=[NAME]</c>.
/// </summary>
public interface IAnalysis
{
    /// <summary>
    /// Analyses the run. Must be a function of the context (random draws from <see cref="AnalysisContext.Generator"/>
    /// only), must not change the networks' weights or the inputs, and must dispose the tensors it makes.
    /// </summary>
    AnalysisOutput Run(AnalysisContext context);
}
