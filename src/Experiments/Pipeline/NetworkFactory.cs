using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Experiments.Configuration;
using SubnetworkEnsembles.Experiments.Plugins;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// Builds the experiment's networks from its model plugin (<c>model:</c>) and wraps them as <see cref="MaskedNetwork"/>s,
/// whose every Linear/Conv2d weight is maskable.
/// </summary>
public static class NetworkFactory
{
    private static readonly Lock GlobalGeneratorLock = new();

    /// <summary>
    /// A freshly initialised network of <paramref name="model"/> for samples of <paramref name="inputShape"/> and
    /// <paramref name="classes"/> classes; <paramref name="generator"/> (owned by the network from now on) gives its
    /// initial weights and dropout draws. torch's global generator is seeded from <paramref name="generator"/>'s seed for
    /// the duration of the plugin's Build (under a lock), so a plugin that relies on TorchSharp's default initialisation
    /// is reproducible too. A shape the architecture cannot take is the user's mistake (exit 2); a network that breaks the
    /// model contract is the plugin's (exit 3).
    /// </summary>
    public static MaskedNetwork Build(this PluginFactory plugins, PluginSpec model, long[] inputShape, int classes, Generator generator)
    {
        var factory = plugins.Create<IModelFactory>(model);
        nn.Module<Tensor, Tensor> network;
        lock (GlobalGeneratorLock)
        {
            random.manual_seed((long)generator.initial_seed());
            try
            {
                network = factory.Build(new ModelContext(inputShape, classes, generator));
            }
            catch (ArgumentException e)
            {
                generator.Dispose();
                throw new ModelDoesNotFitException($"model '{model.Type}' does not fit the data (samples [{string.Join(", ", inputShape)}], {classes} classes): {e.Message}");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                generator.Dispose();
                throw new PluginCallException($"{plugins.Describe(model)} failed in Build: {e.Message}", e);
            }
        }
        try
        {
            return new MaskedNetwork(network, inputShape, classes, generator, $"model '{model.Type}'");
        }
        catch
        {
            network.Dispose();
            generator.Dispose();
            throw;
        }
    }
}

/// <summary>The configured architecture cannot take the data's samples (the user's mistake: exit code 2).</summary>
public sealed class ModelDoesNotFitException(string message) : SneException(message, ExitCodes.ConfigurationError)
{
    /// <inheritdoc />
    public override string Describe() => "model: " + Message;
}
