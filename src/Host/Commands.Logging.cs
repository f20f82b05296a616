using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using SubnetworkEnsembles.Host.Logging;

namespace SubnetworkEnsembles.Host;

/// <summary>Console logging of the commands.</summary>
public static partial class Commands
{
    internal static ILoggerFactory ConsoleLoggerFactory(RunRequest request) => LoggerFactory.Create(b => ConfigureConsole(b, request));

    /// <summary>Console logging as asked: text or JSON lines; --quiet shows warnings and errors only, --verbose adds debug.</summary>
    private static void ConfigureConsole(ILoggingBuilder logging, RunRequest request)
    {
        if (request.LogFormat == LogFormat.Json) logging.AddJsonConsole(o => o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ");
        else logging.AddConsole(o => o.FormatterName = CompactConsoleFormatter.FormatterName).AddConsoleFormatter<CompactConsoleFormatter, ConsoleFormatterOptions>();
        var level = request.Verbose ? LogLevel.Debug : request.Quiet ? LogLevel.Warning : LogLevel.Information;
        logging.SetMinimumLevel(LogLevel.Debug);
        logging.AddFilter<ConsoleLoggerProvider>((category, l) => l >= level && (category?.StartsWith("Microsoft", StringComparison.Ordinal) != true || l >= LogLevel.Warning));
        logging.AddFilter("Microsoft", LogLevel.Warning);
    }
}

/// <summary>Hands loggers of a service provider to an existing logger factory (its console settings).</summary>
internal sealed class ConsoleLoggerForwarder(ILoggerFactory factory) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => factory.CreateLogger(categoryName);

    public void Dispose() { }
}
