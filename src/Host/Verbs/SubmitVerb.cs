using System.CommandLine;
using SubnetworkEnsembles.Host.Distributed;

namespace SubnetworkEnsembles.Host.Verbs;

/// <summary><c>sne submit CONFIG --slurm</c>: submits the parent, a job array of children and the gather job (<see cref="SlurmSubmitter"/>).</summary>
public sealed class SubmitVerb
{
    /// <summary>The verb's command, with its options and action.</summary>
    public Command Command { get; }

    /// <summary>Creates <c>sne submit</c>; its request is read as <paramref name="run"/> reads one.</summary>
    public SubmitVerb(VerbContext context, RunVerb run)
    {
        var o = context.Options;
        var slurm = new Option<bool>("--slurm") { Description = "Submit to Slurm with sbatch (the only scheduler supported)" };
        var partition = new Option<string?>("--partition") { Description = "Slurm partition" };
        var time = new Option<string?>("--time") { Description = "Slurm time limit per job, e.g. 01:00:00" };
        var cpus = new Option<int>("--cpus") { Description = "CPUs per job (--cpus-per-task)", DefaultValueFactory = _ => 1 };
        // Read as text, so that a bad value is one line naming --gpus (exit 2) like every other usage error.
        var gpus = new Option<string?>("--gpus") { Description = "GPUs per job (--gres=gpu:N); every stage then runs with device: cuda" };
        Command = new Command("submit", "Submit the parent, a job array of children and the gather job to Slurm.\n" +
            "Example: sne submit examples/spirals.yaml --slurm --cpus 1 --out /shared/runs/spirals\n" +
            "On GPUs: sne submit examples/fashion-mnist-sparse.yaml --slurm --gpus 1 --out /shared/runs/fm")
        { o.Config, o.Out, o.Set, o.Plugins, o.Force, o.Verbose, slurm, partition, time, cpus, gpus };
        Command.SetAction(r => Execute(run.Request(r), r.GetValue(slurm), new SlurmOptions(r.GetValue(partition), r.GetValue(time), Math.Max(1, r.GetValue(cpus))),
            r.GetValue(gpus)));
    }

    /// <summary>
    /// Submits the jobs of <paramref name="request"/> and prints their ids (parent, children, ensemble); exit 2 without
    /// <paramref name="slurm"/> or with a <paramref name="gpus"/> (the text of --gpus) that is not a positive whole number.
    /// </summary>
    public static int Execute(RunRequest request, bool slurm, SlurmOptions options, string? gpus = null) => CommandErrors.Guard(request.Verbose, () =>
    {
        if (!slurm) throw new UsageException("say where to submit: --slurm");
        if (SlurmOptions.ParseGpus(gpus) is int count) options = options with { Gpus = count };
        using var logging = Microsoft.Extensions.Logging.LoggerFactory.Create(_ => { });
        var (parent, children, ensemble) = SlurmSubmitter.Submit(request, options, logging.CreateLogger("sne"));
        Console.WriteLine($"parent {parent}");
        Console.WriteLine($"children {children}");
        Console.WriteLine($"ensemble {ensemble}");
        return ExitCodes.Ok;
    });
}
