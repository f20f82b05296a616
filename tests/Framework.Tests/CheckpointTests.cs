using Shouldly;
using SubnetworkEnsembles.Engine.Training;
using TorchSharp;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// The state a stateful method leaves in a child (annealed or iteratively pruned masks, tuned weights) is saved in its
/// checkpoint: reloading it into a fresh network reproduces exactly the predictions the run reported.
/// </summary>
public class CheckpointTests
{
    [Trait("Category", "e2e")]
    [Theory]
    [InlineData("{type: temperature-anneal, tau: 0.5, anneal_epochs: 1}")]
    [InlineData("{type: random-anneal, partitioned: true, anneal_epochs: 1}")]
    [InlineData("{type: iterative-prune, epochs: 2}")]
    public void A_reloaded_child_checkpoint_reproduces_the_saved_predictions(string perturbation)
    {
        using var dir = new TempDir();
        string run = Path.Combine(dir.Path, "run");
        var result = Sne.Run("run", Repo.Example("spirals.yaml"), "--out", run, "--set", "parent.epochs=3", "--set", "children.count=2",
            "--set", "children.tuning.epochs=3", "--set", $"children.perturbation={perturbation}");
        result.ExitCode.ShouldBe(0, result.Output);

        using var data = TestData.Load(TestData.Spirals(2500, 250, 250, 1.0));
        var (shape, saved) = NpyReader.ReadFloat(Path.Combine(run, "predictions", "members.npy"));
        shape.ShouldBe([3L, 250, 2]);   // the parent (member 0 of members.npy) and the two children
        for (int child = 0; child < 2; child++)
        {
            using var model = TestModels.Mlp([2], [64, 64, 64], 2);
            SubnetworkEnsembles.Experiments.Pipeline.SparseCheckpoint.Load(model, Path.Combine(run, "children", $"child-{child:D3}.ckpt"));
            model.Sparsity.ShouldBe(0.5, 0.02);                                  // the final mask came back with the weights
            foreach (var layer in model.MaskedLayers)
                layer.weight.detach().masked_select(layer.Mask.eq(0)).abs().max().ToDouble().ShouldBe(0);
            using var probs = Evaluator.Probabilities(model, data.Test.Inputs);
            var mine = probs.data<float>().ToArray();
            for (int i = 0; i < mine.Length; i++) mine[i].ShouldBe(saved[(child + 1) * mine.Length + i], 1e-6f);
        }
    }
}
