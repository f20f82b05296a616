using System.Text.Json;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Experiments.Pipeline;

namespace SubnetworkEnsembles.Experiments.Inference;

/// <summary>
/// What a run's networks expect of their inputs, saved as <c>data.json</c> in the run directory when the parent stage
/// starts: the sample shape, the classes and the normalisation (x − mean) / std applied in training, so
/// <c>sne predict</c> prepares new rows exactly as training did without loading the dataset.
/// </summary>
public sealed record DataDescription(string Dataset, long[] InputShape, int Classes, IReadOnlyList<string> ClassNames, Normalization Normalization)
{
    /// <summary>The file name in the run directory.</summary>
    public const string FileName = "data.json";

    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>The description of prepared data.</summary>
    public static DataDescription Of(DataSplits data) => new(data.Name, data.InputShape, data.Classes, data.ClassNames, data.Normalization);

    /// <summary>
    /// The description saved in <paramref name="run"/>, or — for a run made before data.json existed — the one of the data
    /// <paramref name="load"/> returns (loaded, described and released).
    /// </summary>
    public static DataDescription Of(RunDirectory run, Func<DataSplits> load)
    {
        string file = run.Combine(FileName);
        if (File.Exists(file))
        {
            try
            {
                return JsonSerializer.Deserialize<DataDescription>(File.ReadAllText(file), Options) ?? throw new JsonException("empty");
            }
            catch (JsonException e) { throw new CorruptFileException(file, $"is not a data description ({e.Message}); delete it to rebuild it from the dataset"); }
        }
        using var data = load();
        return Of(data);
    }

    /// <summary>Writes data.json into <paramref name="run"/> (atomically).</summary>
    public void Save(RunDirectory run) => RunDirectory.WriteAllTextAtomic(run.Combine(FileName), JsonSerializer.Serialize(this, Options));
}
