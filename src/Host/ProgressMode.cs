namespace SubnetworkEnsembles.Host;

/// <summary>How progress is shown on the console.</summary>
public enum ProgressMode
{
    /// <summary>A live display when stdout is an interactive terminal, plain log lines otherwise.</summary>
    Auto,
    /// <summary>Always the live display (stage, child i/k, epoch, batch, loss, ETA).</summary>
    Live,
    /// <summary>Always plain, periodic log lines (files, CI, Slurm).</summary>
    Plain,
}
