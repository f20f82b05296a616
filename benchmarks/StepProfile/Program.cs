using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Datasets;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Experiments.Configuration;
using SubnetworkEnsembles.Experiments.Pipeline;
using SubnetworkEnsembles.Experiments.Plugins;
using SubnetworkEnsembles.Models.Networks;
using SubnetworkEnsembles.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

// Where one training step of the parent goes: the 784-512-512-10 MLP, batch 128, Fashion-MNIST in memory, with the
// optimiser plugins (adam: the examples' default; sgd: Nesterov momentum 0.9 and weight decay 5e-4). Each part is timed
// alone over `steps` steps (median of `repeats`): the batch read (index_select), zero_grad, forward + cross-entropy,
// backward, the optimiser step, and the whole step as the Trainer runs it (Trainer.Train over those steps). "matmul" is
// the 8 matrix products one step needs (3 forward, 3 weight gradients, 2 input gradients) run alone with the same
// shapes, the floor a step cannot go below; the fp32 matmul peak (2048 × 2048) is the yardstick.
// Usage: dotnet run -c Release --project benchmarks/StepProfile -- [steps=200] [repeats=5]
int steps = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 200;
int repeats = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5;
const int batch = 128, hidden = 512;

using var data = ExperimentData.Load(Plugins(), new DataConfig
{
    Dataset = new() { Type = "fashion-mnist", Kind = PluginKind.Dataset, BoundOptions = new FashionMnistDatasetOptions() },
}, Environment.CurrentDirectory);
var train = (InMemoryDataset)data.Train;
using var rows = data.Train.Subset(arange(steps * batch, dtype: ScalarType.Int64));
Console.WriteLine($"MLP 784-{hidden}-{hidden}-10, batch {batch}, {steps} steps per timing, {repeats} repeats (median), {get_num_threads()} threads, TorchSharp {typeof(torch).Assembly.GetName().Version}");

double peak = Peak();
long forward;
using (var probe = Network()) forward = FlopCounter.ForwardFlops(probe);
double stepFlops = 3.0 * forward * batch;
double matmul = Median(Enumerable.Range(0, repeats).Select(_ => Matmuls()).ToList());
Console.WriteLine($"fp32 matmul peak (2048²): {peak / 1e9:F1} GFLOP/s; one step = {stepFlops / 1e6:F1} MFLOP = {stepFlops / peak * 1e3:F3} ms at peak; " +
                  $"its 8 matrix products alone: {matmul * 1e3:F3} ms ({stepFlops / matmul / peak:P0} of peak)");

foreach (string optimizerName in new[] { "adam", "sgd" })
{
    var parts = new Dictionary<string, List<double>>();
    void Add(string part, double seconds) => (parts.TryGetValue(part, out var l) ? l : parts[part] = []).Add(seconds / steps);
    for (int r = 0; r < repeats; r++)
    {
        using var model = Network();
        using var optimizer = Optimizer(optimizerName, model);
        var schedule = new ConstantSchedule(new ConstantScheduleOptions { Lr = 0.001 });
        using var perm = randperm(train.Count, generator: new Generator(5));
        var labels = train.Labels;

        // Parts, each over the same batches.
        Add("batch read", Time(b => { using var idx = perm.narrow(0, b * batch, batch); using var x = data.Train.Read(idx); using var y = labels.index_select(0, idx); }));
        Add("zero_grad", Time(_ => optimizer.Optimizer.zero_grad()));
        using var x0 = data.Train.Read(perm.narrow(0, 0, batch));
        using var y0 = labels.index_select(0, perm.narrow(0, 0, batch));
        Add("forward + loss", Time(_ => { using var scope = NewDisposeScope(); var loss = nn.functional.cross_entropy(model.call(x0), y0); loss.ToSingle(); }));
        Add("forward + loss + backward", Time(_ =>
        {
            using var scope = NewDisposeScope();
            optimizer.Optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(x0), y0);
            loss.ToSingle();
            loss.backward();
        }));
        Add("optimiser step", Time(_ => { using var scope = NewDisposeScope(); optimizer.Optimizer.step(); }));
        var clock = Stopwatch.StartNew();
        new Trainer(NullLogger.Instance).Train(model, rows, new TrainingSettings(1, batch), optimizer, schedule, new Generator(7), "profile");
        Add("whole step (Trainer)", clock.Elapsed.TotalSeconds);
    }
    double whole = Median(parts["whole step (Trainer)"]);
    Console.WriteLine($"\n{optimizerName}: ms per step (median of {repeats})");
    foreach (var (part, times) in parts)
        Console.WriteLine($"  {part,-28} {Median(times) * 1e3,7:F3} ms  {Median(times) / whole,6:P0} of the whole step");
    double backward = Median(parts["forward + loss + backward"]) - Median(parts["forward + loss"]);
    double elementwise = Median(parts["forward + loss + backward"]) - matmul - Median(parts["zero_grad"]);
    Console.WriteLine($"  {"backward (difference)",-28} {backward * 1e3,7:F3} ms");
    Console.WriteLine($"  {"matrix products (alone)",-28} {matmul * 1e3,7:F3} ms  {matmul / whole,6:P0}");
    Console.WriteLine($"  {"rest of fwd + bwd",-28} {elementwise * 1e3,7:F3} ms  {elementwise / whole,6:P0}  (bias, ReLU, cross-entropy, autograd bookkeeping)");
    double other = whole - Median(parts["forward + loss + backward"]) - Median(parts["optimiser step"]) - Median(parts["batch read"]);
    Console.WriteLine($"  {"Trainer's own (difference)",-28} {other * 1e3,7:F3} ms  {other / whole,6:P0}  (schedule, metrics, dispose scope)");
    Console.WriteLine($"  achieved: {stepFlops / whole / 1e9:F1} GFLOP/s = {stepFlops / whole / peak:P0} of the matmul peak ({batch / whole:N0} samples/s)");
}

// Experiment: an Adam step written with in-place operations and one reused buffer per parameter, against TorchSharp's.
{
    using var model = Network();
    using var x0 = data.Train.Read(arange(batch, dtype: ScalarType.Int64));
    using var y0 = train.Labels.index_select(0, arange(batch, dtype: ScalarType.Int64));
    using (var scope = NewDisposeScope()) nn.functional.cross_entropy(model.call(x0), y0).backward();
    var ps = model.parameters().ToList();
    var m = ps.Select(p => zeros_like(p)).ToList();
    var v = ps.Select(p => zeros_like(p)).ToList();
    var d = ps.Select(p => zeros_like(p)).ToList();
    long t = 0;
    double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    void HandAdam()
    {
        using var _ = no_grad();
        t++;
        double bc1 = 1 - Math.Pow(b1, t), bc2 = 1 - Math.Pow(b2, t);
        for (int i = 0; i < ps.Count; i++)
        {
            var g = ps[i].grad!;
            m[i].mul_(b1).add_(g, 1 - b1);
            v[i].mul_(b2).addcmul_(g, g, 1 - b2);
            d[i].copy_(v[i]).sqrt_().div_(Math.Sqrt(bc2)).add_(eps);
            ps[i].addcdiv_(m[i], d[i], -lr / bc1);
        }
    }
    using var torchAdam = Optimizer("adam", model);
    var hand = new List<double>();
    var lib = new List<double>();
    for (int r = 0; r < repeats; r++)
    {
        hand.Add(Time(_ => HandAdam()) / steps);
        lib.Add(Time(_ => { using var scope = NewDisposeScope(); torchAdam.Optimizer.step(); }) / steps);
    }
    Console.WriteLine($"adam step: TorchSharp {Median(lib) * 1e3:F3} ms, in place with reused buffers {Median(hand) * 1e3:F3} ms");
}

double Time(Action<long> body)
{
    body(0);
    var clock = Stopwatch.StartNew();
    for (long b = 0; b < steps; b++) body(b);
    return clock.Elapsed.TotalSeconds;
}

double Matmuls()
{
    using var x = randn(batch, 784); using var w1 = randn(hidden, 784); using var w2 = randn(hidden, hidden); using var w3 = randn(10, hidden);
    using var h = randn(batch, hidden); using var g = randn(batch, hidden); using var g3 = randn(batch, 10);
    void Step()
    {
        using var scope = NewDisposeScope();
        x.mm(w1.t()); h.mm(w2.t()); h.mm(w3.t());                 // forward
        g3.t().mm(h); g.t().mm(h); g.t().mm(x);                   // weight gradients
        g3.mm(w3); g.mm(w2);                                      // input gradients
    }
    Step();
    var clock = Stopwatch.StartNew();
    for (int i = 0; i < steps; i++) Step();
    return clock.Elapsed.TotalSeconds / steps;
}

// The best of 5 rounds of 10 products: the peak is what the machine can do, so noise only lowers it.
static double Peak()
{
    using var a = randn(2048, 2048);
    using var b = randn(2048, 2048);
    using (a.mm(b)) { }
    double best = 0;
    for (int round = 0; round < 5; round++)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 10; i++) using (a.mm(b)) { }
        best = Math.Max(best, 2.0 * 2048 * 2048 * 2048 * 10 / clock.Elapsed.TotalSeconds);
    }
    return best;
}

static MaskedNetwork Network() =>
    new(new Mlp([1, 28, 28], [hidden, hidden], 10, dropout: 0, new Generator(1)), [1, 28, 28], 10, generator: null);

static ITrainableOptimizer Optimizer(string name, MaskedNetwork model) => name == "adam"
    ? new AdamOptimizer(new AdamOptimizerOptions()).Create(model.parameters().ToList(), 0.001)
    : new SgdOptimizer(new SgdOptimizerOptions { Momentum = 0.9, Nesterov = true, WeightDecay = 5e-4 }).Create(model.parameters().ToList(), 0.001);

static PluginFactory Plugins()
{
    var services = new ServiceCollection().AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance).AddSingleton(typeof(ILogger<>), typeof(Logger<>));
    services.AddSubnetworkPlugins(new PluginCatalog().RegisterAssemblyOf<FashionMnistDataset>());
    return services.BuildServiceProvider().GetRequiredService<PluginFactory>();
}

static double Median(List<double> xs)
{
    var s = xs.Order().ToList();
    return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
}
