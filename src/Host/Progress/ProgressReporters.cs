using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using SubnetworkEnsembles.Engine.Training;

namespace SubnetworkEnsembles.Host.Progress;

/// <summary>The estimated time left in one training stage, from its steps so far.</summary>
internal sealed class StageClock
{
    private readonly Stopwatch _clock = new();
    private string _label = "";
    private long _first;

    /// <summary>Seconds left in <paramref name="step"/>'s stage, or null until two steps of it were seen.</summary>
    public double? SecondsLeft(StepReport step)
    {
        long done = step.Epoch * step.Batches + step.Batch + 1, total = step.Epochs * step.Batches;
        if (step.Label != _label)
        {
            _label = step.Label;
            _first = done;
            _clock.Restart();
            return null;
        }
        long since = done - _first;
        return since <= 0 ? null : _clock.Elapsed.TotalSeconds / since * (total - done);
    }

    public static string Format(double? seconds) => seconds is double s ? TimeSpan.FromSeconds(Math.Round(s)).ToString(s >= 3600 ? @"h\:mm\:ss" : @"m\:ss", System.Globalization.CultureInfo.InvariantCulture) : "…";
}

/// <summary>
/// Progress for logs that are not a terminal (files, CI, Slurm): a line at most every <paramref name="interval"/>
/// ("parent: epoch 3/20, batch 120/352, loss 0.4123, stage ETA 1:20"), besides the per-epoch lines.
/// </summary>
public sealed class PlainProgress(ILogger logger, TimeSpan interval) : IProgress<StepReport>
{
    private readonly StageClock _eta = new();
    private readonly Stopwatch _since = Stopwatch.StartNew();

    /// <inheritdoc />
    public void Report(StepReport step)
    {
        double? left = _eta.SecondsLeft(step);
        if (_since.Elapsed < interval || step.Batch + 1 == step.Batches) return;
        _since.Restart();
        logger.LogInformation("{Label}: epoch {Epoch}/{Epochs}, batch {Batch}/{Batches}, loss {Loss:F4}, lr {Lr:G3}, stage ETA {Eta}",
            step.Label, step.Epoch + 1, step.Epochs, step.Batch + 1, step.Batches, step.Loss, step.LearningRate, StageClock.Format(left));
    }
}

/// <summary>
/// A live Spectre.Console display for an interactive terminal: one bar for the parent's training and one for the
/// children (child i/k), each showing epoch, batch, loss and the time left; log lines scroll above it.
/// </summary>
public sealed class LiveProgress(ProgressContext context, int children) : IProgress<StepReport>
{
    private readonly ProgressTask _parent = context.AddTask("parent", maxValue: 1);
    private readonly ProgressTask _children = context.AddTask($"children 0/{children}", maxValue: Math.Max(1, children));
    private readonly StageClock _eta = new();

    /// <inheritdoc />
    public void Report(StepReport step)
    {
        double? left = _eta.SecondsLeft(step);
        double fraction = (step.Epoch * step.Batches + step.Batch + 1) / (double)(step.Epochs * step.Batches);
        string detail = $"epoch {step.Epoch + 1}/{step.Epochs} · batch {step.Batch + 1}/{step.Batches} · loss {step.Loss:F4} · ETA {StageClock.Format(left)}";
        if (step.Label.StartsWith("child ", StringComparison.Ordinal))
        {
            // "child 3/6": the children bar counts finished children plus the current one's fraction.
            var parts = step.Label[6..].Split('/');
            int index = int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) - 1;
            _parent.Value = _parent.MaxValue;
            _children.Value = index + fraction;
            _children.Description = Markup.Escape($"{step.Label} · {detail}");
        }
        else
        {
            _parent.Value = fraction;
            _parent.Description = Markup.Escape($"{step.Label} · {detail}");
        }
    }

    /// <summary>Marks both bars complete.</summary>
    public void Complete()
    {
        _parent.Value = _parent.MaxValue;
        _children.Value = _children.MaxValue;
        _children.Description = "children";
    }
}

/// <summary>Log lines printed through Spectre.Console, so they scroll above a live display instead of tearing it.</summary>
public sealed class SpectreLoggerProvider(LogLevel minimum) : ILoggerProvider
{
    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new SpectreLogger(categoryName, minimum);

    /// <inheritdoc />
    public void Dispose() { }

    private sealed class SpectreLogger(string category, LogLevel minimum) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && (!category.StartsWith("Microsoft", StringComparison.Ordinal) || logLevel >= LogLevel.Warning);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            string prefix = logLevel switch { LogLevel.Warning => "[yellow]warning:[/] ", >= LogLevel.Error => "[red]error:[/] ", _ => "" };
            AnsiConsole.MarkupLine($"[grey]{DateTime.Now:HH:mm:ss}[/] {prefix}{Markup.Escape(formatter(state, exception))}");
        }
    }
}
