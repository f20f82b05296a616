using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace SubnetworkEnsembles.Host.Distributed;

/// <summary>
/// Where and how large the Slurm jobs are. <paramref name="Gpus"/>: GPUs per job (<c>#SBATCH --gres=gpu:N</c>, and every
/// stage runs with <c>device: cuda</c>); null asks for none and leaves the configured device as it is.
/// </summary>
public sealed record SlurmOptions(string? Partition, string? Time, int CpusPerTask, int? Gpus = null)
{
    /// <summary>The value of <c>--gpus</c>: null when absent, else a positive whole number; anything else is a <see cref="UsageException"/>.</summary>
    public static int? ParseGpus(string? text)
    {
        if (text is null) return null;
        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int gpus) && gpus > 0) return gpus;
        throw new UsageException($"--gpus expects a positive whole number of GPUs per job, got '{text}'");
    }
}

/// <summary>The sbatch scripts of a submission (the children's is null when there are no children) and its run directory.</summary>
public sealed record SlurmJobs(string RunDirectory, string ParentScript, string? ChildrenScript, string EnsembleScript);

/// <summary>
/// <c>sne submit CONFIG --slurm</c>: validates the experiment, creates the run directory with its resolved config.yaml,
/// writes three sbatch scripts under RUN_DIR/slurm/ and submits them with dependencies: the parent job, a job array
/// with one task per child (afterok:parent; each task runs <c>--stage child</c> with $SLURM_ARRAY_TASK_ID), and the
/// gather job (afterok:array). Every job runs the same sne on RUN_DIR/config.yaml, so the result equals a
/// single-process run. Needs a shared filesystem for RUN_DIR, the data and sne itself. With --gpus N every job asks for
/// N GPUs (--gres=gpu:N) and config.yaml says device: cuda.
/// </summary>
public static class SlurmSubmitter
{
    /// <summary>Submits the three jobs; returns their ids (parent, children array, ensemble).</summary>
    public static (string Parent, string Children, string Ensemble) Submit(RunRequest request, SlurmOptions slurm, ILogger log)
    {
        var jobs = WriteJobs(request, slurm, log);
        string parentId = Sbatch(jobs.ParentScript, null);
        string childrenId = jobs.ChildrenScript is null ? "none" : Sbatch(jobs.ChildrenScript, parentId);
        string ensembleId = Sbatch(jobs.EnsembleScript, jobs.ChildrenScript is null ? parentId : childrenId);
        var ids = new JsonObject { ["parent"] = parentId, ["children"] = childrenId, ["ensemble"] = ensembleId, ["run"] = jobs.RunDirectory };
        RunDirectory.WriteAllTextAtomic(Path.Combine(jobs.RunDirectory, "slurm", "jobs.json"), ids.ToJsonString());
        return (parentId, childrenId, ensembleId);
    }

    /// <summary>
    /// Everything of <see cref="Submit"/> but sbatch: validates the experiment, creates the run directory with the
    /// config.yaml every stage runs, and writes RUN_DIR/slurm/{parent,children,ensemble}.sbatch. With
    /// <see cref="SlurmOptions.Gpus"/> that config.yaml says <c>device: cuda</c> (the first GPU Slurm gives the job), while
    /// the experiment is validated with the device it names, so the submitting machine needs no GPU.
    /// </summary>
    internal static SlurmJobs WriteJobs(RunRequest request, SlurmOptions slurm, ILogger log)
    {
        var (config, _, _, data) = Commands.Prepare(request, log);
        data.Dispose();
        if (slurm.Gpus is not null) config.Device = "cuda";
        string resolved = ResolvedConfigWriter.ToYaml(config);
        var (run, _) = RunDirectory.CreateOrResume(request.OutputDirectory ?? Path.Combine("runs", $"{config.Name}-{DateTime.Now:yyyyMMdd-HHmmss}"), resolved, request.Force);
        string configFile = run.ConfigFile;
        RunDirectory.WriteAllTextAtomic(configFile, resolved);
        RunDirectory.WriteAtomic(run.Combine("config.original.yaml"), tmp => File.Copy(request.ConfigPath, tmp, overwrite: true));
        string slurmDir = run.Combine("slurm");
        Directory.CreateDirectory(slurmDir);

        string sne = SneCommand();
        string plugins = string.Concat(request.PluginDirectories.Select(d => $" --plugins {Quote(Path.GetFullPath(d))}"));
        string Stage(string stage) => $"{sne} run {Quote(configFile)} --out {Quote(run.Path)} --stage {stage}{plugins}";
        string parentScript = Script(slurmDir, "parent", config.Name, slurm, null, Stage("parent"));
        // Chained children (children.start: previous) run one at a time, in index order (%1); no children: no array job.
        string? childrenScript = config.Children.Count == 0 ? null : Script(slurmDir, "children", config.Name, slurm,
            $"0-{config.Children.Count - 1}{(config.Children.Start == ChildStart.Previous ? "%1" : "")}", Stage("child"));
        string ensembleScript = Script(slurmDir, "ensemble", config.Name, slurm, null, Stage("ensemble"));
        return new SlurmJobs(run.Path, parentScript, childrenScript, ensembleScript);
    }

    /// <summary>How a job starts this same sne: the dotnet host and sne.dll, or the apphost.</summary>
    private static string SneCommand()
    {
        string dll = typeof(SlurmSubmitter).Assembly.Location;
        string? process = Environment.ProcessPath;
        if (process is not null && Path.GetFileNameWithoutExtension(process) == "dotnet") return $"{Quote(process)} {Quote(dll)}";
        string apphost = Path.Combine(Path.GetDirectoryName(dll)!, "sne");
        return File.Exists(apphost) ? Quote(apphost) : $"dotnet {Quote(dll)}";
    }

    private static string Script(string directory, string stage, string name, SlurmOptions slurm, string? array, string command)
    {
        var sb = new StringBuilder();
        sb.AppendLine("#!/bin/bash");
        sb.AppendLine(CultureInfo.InvariantCulture, $"#SBATCH --job-name=sne-{stage}-{name}");
        sb.AppendLine(array is null ? $"#SBATCH --output={directory}/{stage}-%j.out" : $"#SBATCH --output={directory}/{stage}-%A_%a.out");
        sb.AppendLine(CultureInfo.InvariantCulture, $"#SBATCH --cpus-per-task={slurm.CpusPerTask}");
        sb.AppendLine("#SBATCH --ntasks=1");
        if (array is not null) sb.AppendLine(CultureInfo.InvariantCulture, $"#SBATCH --array={array}");
        if (slurm.Partition is not null) sb.AppendLine(CultureInfo.InvariantCulture, $"#SBATCH --partition={slurm.Partition}");
        if (slurm.Time is not null) sb.AppendLine(CultureInfo.InvariantCulture, $"#SBATCH --time={slurm.Time}");
        if (slurm.Gpus is int gpus) sb.AppendLine(CultureInfo.InvariantCulture, $"#SBATCH --gres=gpu:{gpus}");
        sb.AppendLine("set -euo pipefail");
        sb.AppendLine(CultureInfo.InvariantCulture, $"exec {command}");
        string path = Path.Combine(directory, stage + ".sbatch");
        RunDirectory.WriteAllTextAtomic(path, sb.ToString());
        return path;
    }

    private static string Sbatch(string script, string? afterOk)
    {
        var start = new ProcessStartInfo("sbatch") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("--parsable");
        if (afterOk is not null) { start.ArgumentList.Add("--dependency"); start.ArgumentList.Add($"afterok:{afterOk}"); start.ArgumentList.Add("--kill-on-invalid-dep=yes"); }
        start.ArgumentList.Add(script);
        Process process;
        try { process = Process.Start(start)!; }
        catch (System.ComponentModel.Win32Exception e) { throw new UsageException($"sbatch cannot be started ({e.Message}); is Slurm installed on this machine?"); }
        using (process)
        {
            string output = process.StandardOutput.ReadToEnd().Trim();
            string error = process.StandardError.ReadToEnd().Trim();
            process.WaitForExit();
            if (process.ExitCode != 0) throw new InvalidOperationException($"sbatch {Path.GetFileName(script)} failed ({process.ExitCode}): {error}");
            return output.Split(';')[0];
        }
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";
}
