using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Benchmarks;
using SubnetworkEnsembles.Engine.Data;
using SubnetworkEnsembles.Engine.Models;
using SubnetworkEnsembles.Engine.Training;
using SubnetworkEnsembles.Models.Networks;
using SubnetworkEnsembles.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

// Where one training step of the parent goes: the 784-512-512-10 MLP, batch 128, Fashion-MNIST in memory, with the
// optimiser plugins (adam: the examples' default; sgd: Nesterov momentum 0.9 and weight decay 5e-4). A hand loop doing
// what the Trainer does times each phase in place (batch read, zero_grad, forward + cross-entropy, backward, optimiser
// step, disposing the step's tensors), summed over `steps` steps (median of `repeats`); the Trainer then runs the same
// steps. "matrix products" are the 8 products one step needs (3 forward, 3 weight gradients, 2 input gradients) run
// alone with the same shapes, the floor a step cannot go below; the fp32 matmul peak (2048 × 2048) is the yardstick.
// Usage: dotnet run -c Release --project benchmarks/StepProfile -- [steps=200] [repeats=5]
int steps = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 200;
int repeats = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5;
const int batch = 128, hidden = 512;

using var data = BenchmarkData.FashionMnist();
var train = (InMemoryDataset)data.Train;
using var rows = data.Train.Subset(arange(steps * batch, dtype: ScalarType.Int64));
Console.WriteLine($"MLP 784-{hidden}-{hidden}-10, batch {batch}, {steps} steps per timing, {repeats} repeats (median), {get_num_threads()} threads, TorchSharp {typeof(torch).Assembly.GetName().Version}");

double peak = Peak();
long forward;
using (var probe = Network()) forward = FlopCounter.ForwardFlops(probe);
double stepFlops = 3.0 * forward * batch;
double matmul = BenchmarkData.Median(Enumerable.Range(0, repeats).Select(_ => Matmuls()).ToList());
Console.WriteLine($"fp32 matmul peak (2048²): {peak / 1e9:F1} GFLOP/s; one step = {stepFlops / 1e6:F1} MFLOP = {stepFlops / peak * 1e3:F3} ms at peak; " +
                  $"its 8 matrix products alone: {matmul * 1e3:F3} ms ({stepFlops / matmul / peak:P0} of peak)");

foreach (string optimizerName in new[] { "adam", "sgd" })
{
    // Each phase of a hand loop that does what the Trainer does, timed in place (so each phase sees the caches the
    // others leave), summed over the steps; then the Trainer itself over the same steps, in the same process.
    string[] phases = ["batch read", "zero_grad", "forward + loss", "backward", "optimiser step", "scope + bookkeeping", "heap check (every 8)", "metrics"];
    var totals = phases.ToDictionary(p => p, _ => new List<double>());
    var whole = new List<double>();
    var trainer = new List<double>();
    for (int r = 0; r < repeats; r++)
    {
        using (var model = Network())
        using (var optimizer = Optimizer(optimizerName, model))
        {
            using var perm = randperm(train.Count, generator: new Generator(5));
            var labels = train.Labels;
            var sums = new double[phases.Length];
            model.train();
            var all = Stopwatch.StartNew();
            for (long b = 0; b < steps; b++)
            {
                long t0 = Stopwatch.GetTimestamp();
                using var scope = NewDisposeScope();
                var idx = perm.narrow(0, b * batch, batch);
                var x = data.Train.Read(idx);
                var y = labels.index_select(0, idx);
                long t1 = Stopwatch.GetTimestamp();
                optimizer.Optimizer.zero_grad();
                long t2 = Stopwatch.GetTimestamp();
                var logits = model.call(x);
                var loss = nn.functional.cross_entropy(logits, y);
                loss.ToSingle();
                long t3 = Stopwatch.GetTimestamp();
                loss.backward();
                long t4 = Stopwatch.GetTimestamp();
                optimizer.Optimizer.step();
                long t5 = Stopwatch.GetTimestamp();
                using (no_grad())
                {
                    using var lossSum = zeros(1, dtype: ScalarType.Float64);
                    lossSum.add_(loss.detach(), batch);
                    using var correct = logits.argmax(1).eq(y).sum();
                }
                long t5b = Stopwatch.GetTimestamp();
                scope.Dispose();
                long t6 = Stopwatch.GetTimestamp();
                if ((b + 1) % 8 == 0) SubnetworkEnsembles.Engine.Native.NativeHeap.TrimIfGrown();
                long t7 = Stopwatch.GetTimestamp();
                long[] marks = [t0, t1, t2, t3, t4, t5b, t6, t7];
                for (int p = 0; p < 6; p++) sums[p] += Stopwatch.GetElapsedTime(marks[p], marks[p + 1]).TotalSeconds;
                sums[4] -= Stopwatch.GetElapsedTime(t5, t5b).TotalSeconds;   // the optimiser step ends at t5
                sums[6] += Stopwatch.GetElapsedTime(t6, t7).TotalSeconds;
                sums[7] += Stopwatch.GetElapsedTime(t5, t5b).TotalSeconds;
            }
            whole.Add(all.Elapsed.TotalSeconds / steps);
            for (int p = 0; p < phases.Length; p++) totals[phases[p]].Add(sums[p] / steps);
        }
        using (var model = Network())
        using (var optimizer = Optimizer(optimizerName, model))
        {
            var clock = Stopwatch.StartNew();
            new Trainer(NullLogger.Instance).Train(model, rows, new TrainingSettings(1, batch), optimizer, new ConstantSchedule(new ConstantScheduleOptions { Lr = 0.001 }),
                new Generator(7), "profile");
            trainer.Add(clock.Elapsed.TotalSeconds / steps);
        }
    }
    double loop = BenchmarkData.Median(whole), framework = BenchmarkData.Median(trainer);
    Console.WriteLine($"\n{optimizerName}: ms per step (median of {repeats} × {steps} steps), each phase timed in place in a hand loop");
    foreach (var p in phases)
        Console.WriteLine($"  {p,-22} {BenchmarkData.Median(totals[p]) * 1e3,7:F3} ms  {BenchmarkData.Median(totals[p]) / loop,6:P0}");
    double fb = BenchmarkData.Median(totals["forward + loss"]) + BenchmarkData.Median(totals["backward"]);
    Console.WriteLine($"  {"hand loop, whole step",-22} {loop * 1e3,7:F3} ms   achieved {stepFlops / loop / 1e9:F1} GFLOP/s = {stepFlops / loop / peak:P0} of the matmul peak");
    Console.WriteLine($"  {"Trainer, whole step",-22} {framework * 1e3,7:F3} ms   achieved {stepFlops / framework / 1e9:F1} GFLOP/s = {stepFlops / framework / peak:P0} of the matmul peak ({batch / framework:N0} samples/s)");
    Console.WriteLine($"  of forward + backward ({fb * 1e3:F3} ms): the 8 matrix products alone take {matmul * 1e3:F3} ms; the rest, {(fb - matmul) * 1e3:F3} ms, is bias, ReLU, " +
                      "cross-entropy and autograd bookkeeping");
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
    Console.WriteLine($"adam step: TorchSharp {BenchmarkData.Median(lib) * 1e3:F3} ms, in place with reused buffers {BenchmarkData.Median(hand) * 1e3:F3} ms");
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
