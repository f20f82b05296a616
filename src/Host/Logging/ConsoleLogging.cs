using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace SubnetworkEnsembles.Host.Logging;

/// <summary>Console logging of the commands: text (<see cref="CompactConsoleFormatter"/>) or JSON lines, at the level --quiet/--verbose ask for.</summary>
public static class ConsoleLogging
{
    /// <summary>A logger factory writing to the console as <paramref name="request"/> asks (<see cref="Configure"/>); the caller disposes it.</summary>
    public static ILoggerFactory CreateFactory(RunRequest request) => LoggerFactory.Create(b => Configure(b, request));

    /// <summary>Console logging as asked: text or JSON lines; --quiet shows warnings and errors only, --verbose adds debug; Microsoft.* only from warnings.</summary>
    public static void Configure(ILoggingBuilder logging, RunRequest request)
    {
        if (request.LogFormat == LogFormat.Json) logging.AddJsonConsole(o => o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ");
        else logging.AddConsole(o => o.FormatterName = CompactConsoleFormatter.FormatterName).AddConsoleFormatter<CompactConsoleFormatter, ConsoleFormatterOptions>();
        var level = request.Verbose ? LogLevel.Debug : request.Quiet ? LogLevel.Warning : LogLevel.Information;
        logging.SetMinimumLevel(LogLevel.Debug);
        logging.AddFilter<ConsoleLoggerProvider>((category, l) => l >= level && (category?.StartsWith("Microsoft", StringComparison.Ordinal) != true || l >= LogLevel.Warning));
        logging.AddFilter("Microsoft", LogLevel.Warning);
    }
}
