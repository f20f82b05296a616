using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Benchmarks;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Models.Networks;
using SubnetworkEnsembles.Optimizers;
using SubnetworkEnsembles.Perturbations;
using SubnetworkEnsembles.Samplers;
using TorchSharp;
using static TorchSharp.torch;

// Times the framework's training loop (Trainer + masked MLP + sgd plugin + one-cycle schedule) against a hand-written
// TorchSharp loop doing the same work: same architecture and initial weights, batch size, batch order, optimiser,
// learning-rate schedule and data tensors in memory. Two cases: an unmasked parent, and a child pruned to 50 %
// (the hand-written loop multiplies weight ⊙ mask in its forward pass and re-applies the mask after each step).
// Usage: dotnet run -c Release --project benchmarks/TrainingOverhead -- [epochs=1] [repeats=5] [hidden=512]
// Reports the median and the best of the repeats: on a shared machine the best is the steadier estimate of overhead.
// Also: achieved GFLOP/s of training (3 × forward FLOPs per sample, FlopCounter), ensemble inference throughput, and the
// fp32 matmul peak measured in the same process as the yardstick.
int epochs = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 1;
int repeats = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5;
int hidden = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 512;
const int batch = 128;

using var data = BenchmarkData.FashionMnist();
long n = data.Train.Count;
Console.WriteLine($"Fashion-MNIST train {n} rows, MLP 784-{hidden}-{hidden}-10, batch {batch}, {epochs} epoch(s) per timing, " +
                  $"{repeats} repeats (median), {get_num_threads()} threads, TorchSharp {typeof(torch).Assembly.GetName().Version}");

foreach (bool masked in new[] { false, true })
{
    var framework = new List<double>();
    var handWritten = new List<double>();
    for (int r = 0; r < repeats; r++)
    {
        // Alternate the order so neither side always runs on a warmer machine.
        if (r % 2 == 0) { framework.Add(Framework(masked)); handWritten.Add(HandWritten(masked)); }
        else { handWritten.Add(HandWritten(masked)); framework.Add(Framework(masked)); }
    }
    double f = BenchmarkData.Median(framework), h = BenchmarkData.Median(handWritten), fMin = framework.Min(), hMin = handWritten.Min();
    Console.WriteLine($"{(masked ? "child, 50 % pruned" : "parent, unmasked"),-20} framework {epochs * n / f,7:N0} samples/s (median {f:F2} s, best {fMin:F2} s)   " +
                      $"hand-written {epochs * n / h,7:N0} samples/s (median {h:F2} s, best {hMin:F2} s)   " +
                      $"time ratio framework/hand-written: median {f / h:F3}, best {fMin / hMin:F3}   " +
                      $"achieved {3.0 * Forward() * n * epochs / f / 1e9:F1} GFLOP/s (dense: 3 × forward FLOPs per sample)");
}

// Ensemble inference: 6 members (50 %-pruned MLPs, computed densely) over the 10 000 test images.
{
    var members = Enumerable.Range(0, 6).Select(i => Network(i)).ToList();
    var times = new List<double>();
    for (int r = 0; r < repeats; r++)
    {
        var clock = Stopwatch.StartNew();
        var probs = members.Select(m => Evaluator.Probabilities(m, data.Test)).ToList();
        using (var mean = stack(probs, 0).mean([0])) { }
        foreach (var p in probs) p.Dispose();
        times.Add(clock.Elapsed.TotalSeconds);
    }
    double t = BenchmarkData.Median(times);
    Console.WriteLine($"{"ensemble inference",-20} {6 * data.Test.Count / t,7:N0} member-samples/s ({data.Test.Count / t:N0} test rows/s for 6 members, median {t:F3} s)   " +
                      $"achieved {6.0 * Forward() * data.Test.Count / t / 1e9:F1} GFLOP/s");
    foreach (var m in members) m.Dispose();
}

// The machine's fp32 matmul peak, measured in the same process, as the yardstick for the GFLOP/s above.
{
    using var a = randn(2048, 2048);
    using var b = randn(2048, 2048);
    using (a.mm(b)) { }
    var clock = Stopwatch.StartNew();
    for (int i = 0; i < 10; i++) using (a.mm(b)) { }
    double seconds = clock.Elapsed.TotalSeconds / 10;
    Console.WriteLine($"{"matmul peak",-20} 2048×2048 fp32: {2.0 * 2048 * 2048 * 2048 / seconds / 1e9:F1} GFLOP/s");
}


MaskedNetwork Network(int seed) =>
    new(new Mlp([1, 28, 28], [hidden, hidden], 10, dropout: 0, new Generator((ulong)seed)), [1, 28, 28], 10, generator: null);

long Forward()
{
    using var probe = Network(0);
    return FlopCounter.ForwardFlops(probe);
}

double Framework(bool masked)
{
    using var model = Network(1);
    if (masked)
    {
        using var g = new Generator(3);
        var mask = new PartitionSampler(new PartitionSamplerOptions { K = 2 }).SampleSet(model.MaskableWeights, g)[0];
        new PrunePerturbation().Apply(model.MaskableWeights, mask, new PerturbationContext(0, 0, 0, 1, 0, g, g));
    }
    using var optimizer = new SgdOptimizer(new SgdOptimizerOptions { Momentum = 0.9, Nesterov = true, WeightDecay = 5e-4 })
        .Create(model.parameters().ToList(), 0.001);
    var schedule = new OneCycleSchedule(new OneCycleScheduleOptions());
    using var shuffle = new Generator(7);
    var clock = Stopwatch.StartNew();
    new Trainer(NullLogger.Instance).Train(model, data.Train, new TrainingSettings(epochs, batch), optimizer, schedule, shuffle, "bench");
    return clock.Elapsed.TotalSeconds;
}

double HandWritten(bool masked)
{
    manual_seed(1);
    var fc1 = nn.Linear(784, hidden); var fc2 = nn.Linear(hidden, hidden); var fc3 = nn.Linear(hidden, 10);
    using var model = nn.Sequential(fc1, nn.ReLU(), fc2, nn.ReLU(), fc3);
    Tensor[] masks = [];
    if (masked)
    {
        using var g = new Generator(3);
        masks = new[] { fc1.weight!, fc2.weight!, fc3.weight! }.Select(w => bernoulli(full(w.shape, 0.5), g)).ToArray();
        using var _ = no_grad();
        fc1.weight!.mul_(masks[0]); fc2.weight!.mul_(masks[1]); fc3.weight!.mul_(masks[2]);
    }
    using var sgd = optim.SGD(model.parameters(), 0.001, 0.9, 0, 5e-4, true);
    var schedule = new OneCycleSchedule(new OneCycleScheduleOptions());
    using var shuffle = new Generator(7);
    long steps = (n + batch - 1) / batch, total = steps * epochs, step = 0;
    var clock = Stopwatch.StartNew();
    for (int e = 0; e < epochs; e++)
    {
        using var perm = randperm(n, generator: shuffle);
        for (long b = 0; b < steps; b++, step++)
        {
            using var scope = NewDisposeScope();
            var value = schedule.At(step, total);
            foreach (var group in sgd.ParamGroups)
            {
                group.LearningRate = value.LearningRate;
                ((TorchSharp.Modules.SGD.Options)((TorchSharp.Modules.ParamGroup)group).Options).momentum = value.Momentum!.Value;
            }
            var idx = perm.narrow(0, b * batch, Math.Min(batch, n - b * batch));
            var x = ((InMemoryDataset)data.Train).Inputs.index_select(0, idx).reshape(-1, 784);
            var y = data.Train.Labels.index_select(0, idx);
            sgd.zero_grad();
            Tensor logits;
            if (masked)
            {
                var h1 = nn.functional.relu(nn.functional.linear(x, fc1.weight! * masks[0], fc1.bias));
                var h2 = nn.functional.relu(nn.functional.linear(h1, fc2.weight! * masks[1], fc2.bias));
                logits = nn.functional.linear(h2, fc3.weight! * masks[2], fc3.bias);
            }
            else logits = model.call(x);
            var loss = nn.functional.cross_entropy(logits, y);
            loss.backward();
            sgd.step();
            if (masked)
            {
                using var _ = no_grad();
                fc1.weight!.mul_(masks[0]); fc2.weight!.mul_(masks[1]); fc3.weight!.mul_(masks[2]);
            }
        }
    }
    return clock.Elapsed.TotalSeconds;
}
