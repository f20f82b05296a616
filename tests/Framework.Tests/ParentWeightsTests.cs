using System.Collections;
using Shouldly;
using TorchSharp.PyBridge;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>Bring your own parent: PyTorch state_dict, safetensors and TorchSharp checkpoints.</summary>
public class ParentWeightsTests(FinishedSpirals spirals) : IClassFixture<FinishedSpirals>
{
    /// <summary>The finished run's parent parameters under PyTorch-style names ("net." + ours), masks left out.</summary>
    private static Dictionary<string, Tensor> PyTorchStyleStateDict(string run)
    {
        using var model = TestModels.Mlp([2], [64, 64, 64], 2);
        model.LoadCheckpoint(Path.Combine(run, "parent.ckpt"));
        return model.state_dict().Where(kv => !kv.Key.EndsWith("weight_mask", StringComparison.Ordinal))
            .ToDictionary(kv => "net." + kv.Key, kv => kv.Value.detach().clone());
    }

    private static SneResult RunFrom(string weights, string output, params string[] more) =>
        Sne.Run(["run", Repo.Example("spirals.yaml"), "--out", output, "--set", $"parent.weights={weights}", "--set", "parent.epochs=0",
            "--set", "children.keep=2", .. more]);   // the configuration of the finished run (FinishedSpirals) but for the parent

    [Trait("Category", "e2e")]
    [Fact]
    public void A_pytorch_state_dict_written_by_the_test_becomes_the_parent_and_the_pipeline_runs_unchanged()
    {
        string pt = spirals.Path_("parent.pt");
        PyTorchPickler.PickleStateDict(pt, (IDictionary)PyTorchStyleStateDict(spirals.Run));
        string run = spirals.Path_("from-pt");
        var result = RunFrom(pt, run, "--set", "parent.rename=['net.=']");
        result.ExitCode.ShouldBe(0, result.Output);
        result.Stdout.ShouldContain("Parent weights: 8 tensors from the PyTorch state_dict");
        result.Stdout.ShouldNotContain("parent epoch");
        var mine = Sne.Results(run);
        var original = Sne.Results(spirals.Run);
        // Same weights → the same parent predictions, to the last digit.
        mine["parent"]!["nll"]!.GetValue<double>().ShouldBe(original["parent"]!["nll"]!.GetValue<double>());
        mine["parent"]!["accuracy"]!.GetValue<double>().ShouldBe(original["parent"]!["accuracy"]!.GetValue<double>());
        // The file's SHA-256 is recorded in results.json and parent.json.
        string sha256 = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(pt)));
        mine["parent"]!["weights"]!["sha256"]!.GetValue<string>().ShouldBe(sha256, StringCompareShould.IgnoreCase);
        System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(run, "parent.json")))!["weights"]!["sha256"]!.GetValue<string>()
            .ShouldBe(sha256, StringCompareShould.IgnoreCase);
        mine["members"]!.AsArray().Count.ShouldBe(4);
        // The children come from the same parent and seeds, so they equal the original run's too.
        for (int i = 0; i < 4; i++)
            mine["members"]![i]!["nll"]!.GetValue<double>().ShouldBe(original["members"]![i]!["nll"]!.GetValue<double>(), $"child {i}");
        mine["ensemble"]!["member_indices"]!.ToJsonString().ShouldBe(original["ensemble"]!["member_indices"]!.ToJsonString());
        mine["ensemble"]!["nll"]!.GetValue<double>().ShouldBe(original["ensemble"]!["nll"]!.GetValue<double>());
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Safetensors_and_torchsharp_checkpoints_load_too()
    {
        string st = spirals.Path_("parent.safetensors");
        Safetensors.SaveStateDict(st, PyTorchStyleStateDict(spirals.Run));
        var fromSt = RunFrom(st, spirals.Path_("from-st"), "--set", "parent.rename=['net.=']", "--set", "children.count=2");
        fromSt.ExitCode.ShouldBe(0, fromSt.Output);
        var fromCkpt = RunFrom(Path.Combine(spirals.Run, "parent.ckpt"), spirals.Path_("from-ckpt"), "--set", "children.count=2");
        fromCkpt.ExitCode.ShouldBe(0, fromCkpt.Output);
        double nll = Sne.Results(spirals.Run)["parent"]!["nll"]!.GetValue<double>();
        Sne.Results(spirals.Path_("from-st"))["parent"]!["nll"]!.GetValue<double>().ShouldBe(nll);
        Sne.Results(spirals.Path_("from-ckpt"))["parent"]!["nll"]!.GetValue<double>().ShouldBe(nll);
    }

    [Trait("Category", "e2e")]
    [Fact]
    public void Missing_unexpected_and_misshaped_keys_are_reported_before_anything_runs()
    {
        string pt = spirals.Path_("named.pt");
        PyTorchPickler.PickleStateDict(pt, (IDictionary)PyTorchStyleStateDict(spirals.Run));
        string output = spirals.Path_("bad");
        var noRename = Sne.Run("validate", Repo.Example("spirals.yaml"), "--set", $"parent.weights={pt}", "--set", "parent.epochs=0");
        noRename.ExitCode.ShouldBe(2, noRename.Output);
        noRename.Stderr.ShouldContain("missing keys: ");
        noRename.Stderr.ShouldContain("unexpected keys: net.");
        noRename.Stderr.ShouldContain("parent.rename");

        var shapes = RunFrom(pt, output, "--set", "parent.rename=['net.=']", "--set", "model.hidden=[32, 32, 32]");
        shapes.ExitCode.ShouldBe(2, shapes.Output);
        shapes.Stderr.ShouldContain("wrong shapes: ");
        shapes.Stderr.ShouldContain("is [64, 2], the model's is [32, 2]");
        File.Exists(Path.Combine(output, "results.json")).ShouldBeFalse();

        var missing = Sne.Run("validate", Repo.Example("spirals.yaml"), "--set", "parent.weights=/nonexistent/p.pt", "--set", "parent.epochs=0");
        missing.ExitCode.ShouldBe(2);
        missing.Stderr.ShouldContain("parent.weights: file /nonexistent/p.pt not found");
        var badRule = Sne.Run("validate", Repo.Example("spirals.yaml"), "--set", "parent.rename=[oops]");
        badRule.ExitCode.ShouldBe(2);
        badRule.Stderr.ShouldContain("parent.rename[0]");
    }
}
