using System.Diagnostics;
using Shouldly;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// Bring-your-own parent through the whole pipeline: a PyTorch <c>state_dict</c> of torchvision's resnet18, written by
/// Debian's python3-torch, is the <c>parent.weights</c> of a <c>torchvision</c> model in <c>sne run</c>, and the run's
/// saved parent predictions are PyTorch's softmax outputs on the same images.
/// </summary>
[Trait("Category", "e2e")]
public sealed class TorchVisionParentWeightsTests
{
    private const string Python = "/usr/bin/python3";

    internal static bool PyTorchAvailable()
    {
        if (!File.Exists(Python)) return false;
        using var check = Process.Start(new ProcessStartInfo(Python, ["-c", "import torch, torchvision, numpy"]) { RedirectStandardError = true })!;
        check.WaitForExit();
        return check.ExitCode == 0;
    }

    private static void RunPython(params string[] arguments)
    {
        using var p = Process.Start(new ProcessStartInfo(Python, arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        p.ExitCode.ShouldBe(0, error);
    }

    [SkippableFact]
    public void A_pytorch_resnet18_state_dict_is_the_parent_and_its_run_predictions_are_pytorchs()
    {
        Skip.IfNot(PyTorchAvailable(), $"{Python} cannot import torch, torchvision and numpy (./sne test installs python3-torch python3-torchvision)");
        using var dir = new TempDir();
        RunPython(Path.Combine(Repo.Root, "tests", "Framework.Tests", "Fixtures", "torchvision", "make_reference.py"), dir.Path, "resnet18");
        // The reference images [2, 3, 64, 64] as the npy dataset's train and test rows; labels 0 and 9 make ten classes.
        RunPython("-c", $"""
            import numpy, torch
            r = torch.load("{dir.Path}/resnet18-reference.pt")
            numpy.save("{dir.Path}/x.npy", r["input"].numpy())
            numpy.save("{dir.Path}/y.npy", numpy.array([0, 9], dtype=numpy.int64))
            numpy.save("{dir.Path}/probs.npy", torch.softmax(r["logits"], 1).numpy())
            """);
        string config = dir.File("byo.yaml", """
            name: byo-resnet18
            data: { dataset: npy, train_features: x.npy, train_labels: y.npy, test_features: x.npy, test_labels: y.npy, validation: 0, normalize: false }
            model: { type: torchvision, architecture: resnet18 }
            parent: { epochs: 0, weights: resnet18.pt }
            children: { count: 0, include_parent: true }
            """);
        string run = Path.Combine(dir.Path, "run");
        var result = Sne.Run("run", config, "--out", run, "--quiet");
        result.ExitCode.ShouldBe(0, result.Output);

        var (shape, saved) = NpyReader.ReadFloat(Path.Combine(run, "predictions", "parent.npy"));
        shape.ShouldBe([2L, 10]);
        var (_, pytorch) = NpyReader.ReadFloat(Path.Combine(dir.Path, "probs.npy"));
        for (int i = 0; i < saved.Length; i++) saved[i].ShouldBe(pytorch[i], 1e-5f, $"probability {i}");
        Sne.Results(run)["parent"]!["weights"]!["tensors"]!.GetValue<int>().ShouldBe(File.ReadAllLines(Path.Combine(dir.Path, "resnet18-keys.txt")).Length);
    }
}
