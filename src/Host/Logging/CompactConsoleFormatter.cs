using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace SubnetworkEnsembles.Host.Logging;

/// <summary>Console lines as "HH:mm:ss message" (warnings and errors prefixed by their level) — what a person reads.</summary>
public sealed class CompactConsoleFormatter() : ConsoleFormatter(FormatterName)
{
    /// <summary>The name to select this formatter with.</summary>
    public const string FormatterName = "sne-compact";

    /// <inheritdoc />
    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        string message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        string level = logEntry.LogLevel switch
        {
            LogLevel.Warning => "warning: ",
            LogLevel.Error or LogLevel.Critical => "error: ",
            LogLevel.Debug or LogLevel.Trace => "debug: ",
            _ => "",
        };
        textWriter.WriteLine($"{DateTime.Now:HH:mm:ss} {level}{message}");
        if (logEntry.Exception is not null) textWriter.WriteLine(logEntry.Exception);
    }
}
