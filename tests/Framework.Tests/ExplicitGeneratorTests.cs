using Shouldly;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// Initialisation and dropout from an explicit generator give bit for bit what the global generator gave after
/// <c>manual_seed</c> (the way runs were made before), so results for the same seeds do not change.
/// </summary>
public class ExplicitGeneratorTests
{
    /// <summary>The layers of the old way: TorchSharp's own Linear/Conv2d (PyTorch's reset_parameters) after manual_seed(seed), in construction order.</summary>
    private static List<Tensor> Reference(long seed, IEnumerable<Func<nn.Module>> layers)
    {
        manual_seed(seed);
        var tensors = new List<Tensor>();
        foreach (var make in layers)
        {
            var module = make();
            foreach (var (_, p) in module.named_parameters()) tensors.Add(p.detach().clone());
        }
        return tensors;
    }

    private static void ShouldBeBitwiseEqual(MaskedNetwork model, List<Tensor> reference)
    {
        var mine = model.MaskedLayers.SelectMany(l => l.bias is null ? [l.weight] : new Tensor[] { l.weight, l.bias }).ToList();
        mine.Count.ShouldBe(reference.Count);
        for (int i = 0; i < mine.Count; i++)
        {
            mine[i].shape.ShouldBe(reference[i].shape);
            mine[i].eq(reference[i]).all().ToBoolean().ShouldBeTrue($"parameter {i} ({mine[i].shape.Length}-D) differs from PyTorch's initialisation");
        }
    }

    [Trait("Category", "unit")]
    [Theory]
    [InlineData(0L, new[] { 64, 64, 64 })]
    [InlineData(7L, new[] { 512, 512 })]
    [InlineData(123456789L, new[] { 3, 1000, 17 })]
    public void MlpFromAGeneratorEqualsLinearLayersAfterManualSeed(long seed, int[] hidden)
    {
        long[] widths = [2, .. hidden.Select(h => (long)h), 3];
        var reference = Reference(seed, Enumerable.Range(0, widths.Length - 1).Select(i => (Func<nn.Module>)(() => nn.Linear(widths[i], widths[i + 1]))));
        using var model = TestModels.Mlp([2], hidden, 3, seed);
        ShouldBeBitwiseEqual(model, reference);
    }

    [Trait("Category", "unit")]
    [Theory]
    [InlineData(LeNetSize.Small, 0L)]
    [InlineData(LeNetSize.Medium, 42L)]
    public void LeNetFromAGeneratorEqualsConvAndLinearLayersAfterManualSeed(LeNetSize size, long seed)
    {
        var (c1, c2, f1, f2) = size == LeNetSize.Small ? (16, 32, 256, 128) : (32, 64, 512, 256);
        var reference = Reference(seed, [
            () => nn.Conv2d(1, c1, 5, padding: 2), () => nn.Conv2d(c1, c2, 5),
            () => nn.Linear(c2 * 25, f1), () => nn.Linear(f1, f2), () => nn.Linear(f2, 10)]);
        using var model = TestModels.LeNet(size, [1, 28, 28], 10, seed, dropout: 0.5);
        ShouldBeBitwiseEqual(model, reference);
    }

    /// <summary>
    /// Training with dropout: the network's dropout draws its masks from the generator it was initialised from, continuing
    /// its stream exactly as PyTorch's dropout continued the global generator after manual_seed and construction — same
    /// outputs and same gradients, pass after pass.
    /// </summary>
    [Trait("Category", "unit")]
    [Fact]
    public void DropoutFromTheModelsGeneratorEqualsGlobalDropoutAfterManualSeed()
    {
        using var x = linspace(-2, 2, 64 * 8).reshape(64, 8);
        using var explicitModel = TestModels.Mlp([8], [32, 32], 4, seed: 11, dropout: 0.3);
        manual_seed(11);
        // The same network in plain TorchSharp: initialised from, and dropping out with, torch's global generator.
        using var globalModel = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 4));
        explicitModel.train();
        globalModel.train();
        for (int pass = 0; pass < 3; pass++)
        {
            using var a = explicitModel.call(x);
            using var b = globalModel.call(x);
            a.eq(b).all().ToBoolean().ShouldBeTrue($"pass {pass}: outputs differ");
            a.eq(0).any().ToBoolean().ShouldBeFalse();                       // logits are not dropped, hidden units are:
            using var c = explicitModel.call(x);
            c.eq(a).all().ToBoolean().ShouldBeFalse("a second pass draws a new mask");
            globalModel.call(x).Dispose();                                   // keep the two streams in step
            a.sum().backward();
            b.sum().backward();
        }
        foreach (var (mine, theirs) in explicitModel.parameters().Zip(globalModel.parameters()))
            mine.grad!.eq(theirs.grad!).all().ToBoolean().ShouldBeTrue("gradients differ");
    }
}
