using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Benchmarks;
using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Experiments.Pipeline;
using SubnetworkEnsembles.Models.Networks;
using SubnetworkEnsembles.Optimizers;
using SubnetworkEnsembles.Perturbations;
using SubnetworkEnsembles.Samplers;
using SubnetworkEnsembles.Samplers.Internal;
using TorchSharp;
using static TorchSharp.torch;

// What sparsity saves, measured side by side in one process on the 784-512-512-10 MLP and Fashion-MNIST:
//  1. tuning one child of a 2-way neuron partition (hidden layers; output layer unmasked, as examples/sparse-neurons.yaml):
//     compact (784-256-256-10) against the same child masked-dense, through the framework's Trainer (Adam, batch 128);
//  2. inference of a 6-member SSE of such children (3 partitions × 2) on the 10 000 test rows: compact, masked-dense,
//     and 3 dense parents (one per member pair);
//  3. checkpoint bytes of children (sparse checkpoint) against the parent's fp32 weight bytes: 50 % and 90 % unstructured,
//     and the compact neuron child.
// Usage: dotnet run -c Release --project benchmarks/Sparsity -- [repeats=5] [epochs=1]
// Timings alternate the order of the compared cases each repeat; the median and the best are reported.
int repeats = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 5;
int epochs = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1;
const int batch = 128;

using var data = BenchmarkData.FashionMnist();
long n = data.Train.Count;
Console.WriteLine($"Fashion-MNIST train {n} rows, test {data.Test.Count}; MLP 784-512-512-10; {get_num_threads()} threads; TorchSharp {typeof(torch).Assembly.GetName().Version}; " +
                  $"{repeats} repeats");

// 1. Tuning: compact vs masked dense.
{
    var compact = new List<double>();
    var masked = new List<double>();
    for (int r = 0; r < repeats; r++)
    {
        if (r % 2 == 0) { masked.Add(Tune(compactChild: false)); compact.Add(Tune(compactChild: true)); }
        else { compact.Add(Tune(compactChild: true)); masked.Add(Tune(compactChild: false)); }
    }
    double c = BenchmarkData.Median(compact), m = BenchmarkData.Median(masked);
    Console.WriteLine($"tuning, one 2-way neuron-partitioned child, {epochs} epoch(s): compact {epochs * n / c:N0} samples/s (median {c:F2} s, best {compact.Min():F2} s), " +
                      $"masked-dense {epochs * n / m:N0} samples/s (median {m:F2} s, best {masked.Min():F2} s); speed-up compact: median {m / c:F2}×, best {masked.Min() / compact.Min():F2}×");
}

// 2. Ensemble inference: 6 members compact vs masked-dense vs 3 dense parents.
{
    var denseMembers = Enumerable.Range(0, 3).SelectMany(set => NeuronChildren(set)).ToList();
    var compactMembers = denseMembers.Select(Compacted).ToList();
    var parents = Enumerable.Range(0, 3).Select(i => Network(10 + i)).ToList();
    var times = new Dictionary<string, List<double>> { ["compact"] = [], ["masked"] = [], ["parents"] = [] };
    for (int r = 0; r < repeats + 1; r++)
    {
        var order = r % 2 == 0 ? new[] { "masked", "compact", "parents" } : ["parents", "compact", "masked"];
        foreach (var name in order)
        {
            var members = name == "compact" ? compactMembers : name == "masked" ? denseMembers : parents;
            double t = Infer(members);
            if (r > 0) times[name].Add(t);   // the first round warms up
        }
    }
    double tc = BenchmarkData.Median(times["compact"]), tm = BenchmarkData.Median(times["masked"]), tp = BenchmarkData.Median(times["parents"]);
    Console.WriteLine($"ensemble inference, 6 members, {data.Test.Count} rows: compact {tc * 1000:F1} ms, masked-dense {tm * 1000:F1} ms, 3 dense parents {tp * 1000:F1} ms (medians); " +
                      $"compact / masked-dense {tc / tm:F3}, compact / (one parent per member pair) {tc / tp:F3}; " +
                      $"forward FLOPs per sample: 6 compact members {6 * FlopCounter.ForwardFlops(compactMembers[0]):N0}, 6 masked-dense members {6 * FlopCounter.ForwardFlops(denseMembers[0]):N0}, 3 parents {3 * FlopCounter.ForwardFlops(parents[0]):N0}");
    foreach (var net in denseMembers.Concat(compactMembers).Concat(parents)) net.Dispose();
}

// 3. Checkpoint bytes.
{
    string dir = Directory.CreateTempSubdirectory("sne-sparsity-bench-").FullName;
    try
    {
        using var parent = Network(1);
        long weightBytes = 4 * parent.parameters().Sum(p => p.numel());
        string parentFile = Path.Combine(dir, "parent.ckpt");
        parent.save(parentFile);
        Console.WriteLine($"checkpoint bytes: parent fp32 weights {weightBytes:N0} B; parent.ckpt (TorchSharp format, weights + float masks) {new FileInfo(parentFile).Length:N0} B");
        foreach (double sparsity in new[] { 0.5, 0.9 })
        {
            using var child = Network(1);
            using (no_grad())
            using (var g = new Generator(5))
            {
                foreach (var layer in child.MaskedLayers)
                {
                    using var keep = rand(layer.weight.shape, generator: g).ge(sparsity).to(ScalarType.Float32);
                    layer.Mask = keep;
                    layer.FreezeMasked = true;
                    layer.EnforceFrozenMask();
                }
            }
            long bytes = Saved(child, null, dir, $"u{sparsity}");
            Console.WriteLine($"  {sparsity:P0} unstructured child: {bytes:N0} B = {bytes / (double)weightBytes:F3} × the parent's weight bytes");
        }
        var neuron = NeuronChildren(0)[0];
        using var compactChild = Compacted(neuron);
        var plan = StructuredCompaction.Plan(neuron).Plan!;
        long compactBytes = Saved(compactChild, plan, dir, "compact");
        long maskedBytes = Saved(neuron, null, dir, "masked");
        Console.WriteLine($"  50 % neuron child: compact {compactBytes:N0} B = {compactBytes / (double)weightBytes:F3} ×; the same child masked-dense {maskedBytes:N0} B = {maskedBytes / (double)weightBytes:F3} ×");
        neuron.Dispose();
    }
    finally
    {
        Directory.Delete(dir, recursive: true);
    }
}


static MaskedNetwork Network(int seed) =>
    new(new Mlp([1, 28, 28], [512, 512], 10, dropout: 0, new Generator((ulong)seed)), [1, 28, 28], 10, generator: null);

// The two children of 2-way neuron partition `set` of a parent (hidden layers only), pruned (frozen).
static List<MaskedNetwork> NeuronChildren(int set)
{
    using var parent = Network(1);
    var hidden = parent.MaskableWeights.Where(w => !w.IsOutputLayer).ToList();
    using var g = new Generator((ulong)(100 + set));
    var masks = new PartitionSampler(new PartitionSamplerOptions { K = 2, Structure = Structure.Neurons }).SampleSet(hidden, g);
    var children = new List<MaskedNetwork>();
    foreach (var mask in masks)
    {
        var child = Network(1);
        new PrunePerturbation().Apply(child.MaskableWeights.Where(w => !w.IsOutputLayer).ToList(), mask, new PerturbationContext(0, set, 0, 2, 0, g, g));
        children.Add(child);
        mask.Dispose();
    }
    return children;
}

static MaskedNetwork Compacted(MaskedNetwork child)
{
    var plan = StructuredCompaction.Plan(child).Plan ?? throw new InvalidOperationException("not compactable");
    var compact = Network(2);
    compact.CopyFrom(child);
    foreach (var (a, b) in compact.MaskedLayers.Zip(child.MaskedLayers)) a.FreezeMasked = b.FreezeMasked;
    StructuredCompaction.Compact(compact, plan);
    return compact;
}

double Tune(bool compactChild)
{
    var child = NeuronChildren(0)[0];
    using var model = compactChild ? Compacted(child) : child;
    if (compactChild) child.Dispose();
    using var optimizer = new AdamOptimizer(new AdamOptimizerOptions()).Create(model.parameters().ToList(), 0.001);
    var schedule = new OneCycleSchedule(new OneCycleScheduleOptions());
    using var shuffle = new Generator(7);
    var clock = Stopwatch.StartNew();
    new Trainer(NullLogger.Instance).Train(model, data.Train, new TrainingSettings(epochs, batch), optimizer, schedule, shuffle, "bench");
    return clock.Elapsed.TotalSeconds;
}

double Infer(List<MaskedNetwork> members)
{
    var clock = Stopwatch.StartNew();
    var probs = members.Select(m => Evaluator.Probabilities(m, data.Test)).ToList();
    using (var mean = stack(probs, 0).mean([0])) { }
    foreach (var p in probs) p.Dispose();
    return clock.Elapsed.TotalSeconds;
}

static long Saved(MaskedNetwork network, CompactionPlan? plan, string dir, string name)
{
    string file = Path.Combine(dir, name + ".ckpt");
    SparseCheckpoint.Save(network, plan, file);
    return new FileInfo(file).Length;
}
