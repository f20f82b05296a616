using System.CommandLine;

namespace SubnetworkEnsembles.Host.Verbs;

/// <summary><c>sne status RUN_DIR</c>: the state of the parent, every child and the ensemble of a run.</summary>
public sealed class StatusVerb
{
    /// <summary>The verb's command, with its options and action.</summary>
    public Command Command { get; }

    /// <summary>Creates <c>sne status</c> over the shared options of <paramref name="context"/>.</summary>
    public StatusVerb(VerbContext context)
    {
        var o = context.Options;
        Command = new Command("status", "Show the state of the parent, every child and the ensemble of a run.\nExample: sne status runs/spirals")
        { o.RunDirectory, o.Verbose };
        Command.SetAction(r => Execute(r.GetValue(o.RunDirectory)!, r.GetValue(o.Verbose)));
    }

    /// <summary>Prints one line for the parent, each child and the ensemble, then the counts done / failed / pending (/ damaged).</summary>
    public static int Execute(string runDirectory, bool verbose) => CommandErrors.Guard(verbose, () =>
    {
        var (run, config) = ExistingRun.Open(runDirectory);
        var status = RunStatus.Read(run, config.Children.Count);
        Console.WriteLine($"{run.Path}: {config.Name}, seed {config.Seed}");
        Console.WriteLine($"parent    {RunStatus.ParentState(run)}");
        var states = Enumerable.Range(0, config.Children.Count).Select(i => status.ChildState(run, i)).ToList();
        for (int i = 0; i < states.Count; i++) Console.WriteLine($"child {i,-3} {states[i]}");
        Console.WriteLine($"ensemble  {RunStatus.EnsembleState(run)}");
        int damaged = states.Count(s => s.StartsWith("damaged", StringComparison.Ordinal));
        Console.WriteLine($"{status.Done.Count - damaged}/{config.Children.Count} children done, {status.Failed.Count} failed, {status.Missing.Count} pending" +
            (damaged > 0 ? $", {damaged} damaged" : ""));
        return ExitCodes.Ok;
    });
}
