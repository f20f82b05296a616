using Microsoft.Extensions.Logging;

namespace SubnetworkEnsembles.Host.Logging;

/// <summary>Hands loggers of a service provider to an existing logger factory (its console settings); disposing it leaves the factory alone.</summary>
internal sealed class ConsoleLoggerForwarder(ILoggerFactory factory) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => factory.CreateLogger(categoryName);

    public void Dispose() { }
}
