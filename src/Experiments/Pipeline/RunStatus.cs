using SubnetworkEnsembles.Experiments.Results;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>The state of a (possibly distributed) run, read from the files each stage writes last.</summary>
public sealed record RunStatus(bool ParentDone, IReadOnlyList<int> Done, IReadOnlyList<int> Missing, IReadOnlyDictionary<int, string> Failed, bool EnsembleDone)
{
    /// <summary>Reads the run directory: parent.json, children/child-NNN.{json,failed}, results.json.</summary>
    public static RunStatus Read(RunDirectory run, int children)
    {
        var done = new List<int>();
        var missing = new List<int>();
        var failed = new SortedDictionary<int, string>();
        for (int i = 0; i < children; i++)
        {
            if (File.Exists(run.ChildResults(i))) done.Add(i);
            else if (File.Exists(run.ChildFailure(i))) failed[i] = File.ReadAllText(run.ChildFailure(i)).Trim();
            else missing.Add(i);
        }
        return new RunStatus(File.Exists(run.ParentResults), done, missing, failed, File.Exists(run.ResultsFile));
    }

    /// <summary>Whether child <paramref name="index"/> finished: its results (written last), predictions and checkpoint exist and are intact.</summary>
    public static bool ChildFinished(RunDirectory run, int index) => File.Exists(run.ChildResults(index)) && RunFiles.ChildDamage(run, index) is null;

    /// <summary>"done", "pending" or "damaged: …" for the parent stage (what <c>sne status</c> shows).</summary>
    public static string ParentState(RunDirectory run) =>
        !File.Exists(run.ParentResults) ? "pending" : RunFiles.ParentDamage(run) is { } damage ? $"damaged: {damage} (resuming runs it again)" : "done";

    /// <summary>"done", "pending", "failed: …" or "damaged: …" for child <paramref name="index"/>.</summary>
    public string ChildState(RunDirectory run, int index) =>
        Done.Contains(index) ? RunFiles.ChildDamage(run, index) is { } damage ? $"damaged: {damage} (resuming makes it again)" : "done"
        : Failed.TryGetValue(index, out var reason) ? $"failed: {reason}" : "pending";

    /// <summary>"done", "pending" or "damaged: …" for the ensemble stage (results.json).</summary>
    public static string EnsembleState(RunDirectory run)
    {
        if (!File.Exists(run.ResultsFile)) return "pending";
        try
        {
            ExperimentResults.Read(run.ResultsFile);
            return "done";
        }
        catch (CorruptFileException e)
        {
            return $"damaged: {e.Message} (delete it and resume to gather the ensemble again)";
        }
    }

    /// <summary>Whether child <paramref name="index"/> is recorded as failed because its training diverged (NaN/Inf).</summary>
    public static bool ChildDiverged(RunDirectory run, int index) =>
        File.Exists(run.ChildFailure(index)) && File.ReadAllText(run.ChildFailure(index)).StartsWith(nameof(Engine.Training.TrainingDivergedException), StringComparison.Ordinal);

    /// <summary>"children 2, 5 are missing; child 3 failed: …".</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (Missing.Count > 0) parts.Add($"{(Missing.Count == 1 ? "child" : "children")} {string.Join(", ", Missing)} {(Missing.Count == 1 ? "is" : "are")} missing");
        parts.AddRange(Failed.Select(f => $"child {f.Key} failed: {f.Value}"));
        return string.Join("; ", parts);
    }
}
