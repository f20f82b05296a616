using static TorchSharp.torch;

namespace SubnetworkEnsembles.Analyses.Internal;

/// <summary>
/// The random draws of one feature visualisation, shared by every network and channel: the start image and, per step,
/// jitter (dy₁, dx₁) ∈ {−8 … 8}², scale s ∈ U[0.95, 1.05], rotation φ ∈ U[−5°, 5°] and jitter (dy₂, dx₂) ∈ {−4 … 4}².
/// </summary>
/// <param name="Start">The start input x₀ [1, …input shape] ~ N(0, noise²), CPU.</param>
/// <param name="Shifts">Per step: dy₁, dx₁, dy₂, dx₂ (pixels).</param>
/// <param name="Scales">Per step: s.</param>
/// <param name="Angles">Per step: φ in radians.</param>
internal sealed record FeaturePlan(Tensor Start, int[][] Shifts, double[] Scales, double[] Angles) : IDisposable
{
    /// <summary>Disposes <see cref="Start"/>.</summary>
    public void Dispose() => Start.Dispose();
}

/// <summary>Feature visualisation by activation maximisation (Olah et al. 2017; dissertation §7.3).</summary>
internal static class FeatureVisualisation
{
    /// <summary>
    /// The layer whose channels are visualised: the module named <paramref name="name"/> (as named_modules names it), or
    /// by default the last Conv2d, else the last hidden Linear (the second-to-last Linear), else the only Linear.
    /// </summary>
    public static (string Name, nn.Module<Tensor, Tensor> Module) FindLayer(nn.Module<Tensor, Tensor> network, string name)
    {
        var modules = network.named_modules().Where(m => m.name.Length > 0).ToList();
        if (name.Length > 0)
        {
            var found = modules.FirstOrDefault(m => m.name == name);
            if (found.module is nn.Module<Tensor, Tensor> chosen) return (name, chosen);
            throw new ArgumentException($"layer: no module '{name}' of tensor → tensor in the network (modules: {string.Join(", ", modules.Select(m => m.name))})");
        }
        var convolutions = modules.Where(m => m.module is TorchSharp.Modules.Conv2d).ToList();
        if (convolutions.Count > 0) return (convolutions[^1].name, (nn.Module<Tensor, Tensor>)convolutions[^1].module);
        var linears = modules.Where(m => m.module is TorchSharp.Modules.Linear).ToList();
        if (linears.Count == 0) throw new ArgumentException("layer: the network has no Conv2d or Linear; name one with layer:");
        var pick = linears[Math.Max(0, linears.Count - 2)];
        return (pick.name, (nn.Module<Tensor, Tensor>)pick.module);
    }

    /// <summary>The channel count K of <paramref name="layer"/>'s output ([n, K, …]) on one zero input of <paramref name="inputShape"/>.</summary>
    public static long Channels(nn.Module<Tensor, Tensor> network, nn.Module<Tensor, Tensor> layer, long[] inputShape, Device device)
    {
        long channels = 0;
        var hook = layer.register_forward_hook((m, input, output) => { channels = output.shape[1]; return output; });
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            network.call(zeros([1, .. inputShape], device: device));
        }
        finally { hook.remove(); }
        return channels;
    }

    /// <summary>Draws a <see cref="FeaturePlan"/> of <paramref name="steps"/> steps from <paramref name="generator"/>; start noise σ = <paramref name="noise"/>.</summary>
    public static FeaturePlan Plan(long[] inputShape, int steps, double noise, Generator generator)
    {
        using var scope = NewDisposeScope();
        var start = randn([1, .. inputShape], generator: generator).mul_(noise);
        var first = randint(-8, 9, [steps, 2], generator: generator).data<long>().ToArray();
        var second = randint(-4, 5, [steps, 2], generator: generator).data<long>().ToArray();
        var scales = (rand(steps, dtype: ScalarType.Float64, generator: generator) * 0.1 + 0.95).data<double>().ToArray();
        var angles = ((rand(steps, dtype: ScalarType.Float64, generator: generator) * 2 - 1) * (5 * Math.PI / 180)).data<double>().ToArray();
        var shifts = Enumerable.Range(0, steps).Select(t => new[] { (int)first[2 * t], (int)first[2 * t + 1], (int)second[2 * t], (int)second[2 * t + 1] }).ToArray();
        return new FeaturePlan(start.MoveToOuterDisposeScope(), shifts, scales, angles);
    }

    /// <summary>
    /// Step <paramref name="step"/>'s transformation of an image batch x [n, C, H, W]: roll by (dy₁, dx₁), then rotate by φ
    /// and scale by s about the centre (bilinear, reflection padding: sampling at s·R(φ)·p in normalised coordinates), then
    /// roll by (dy₂, dx₂). Inputs that are not images ([n, F] or [n, C, F]) pass unchanged. Differentiable in x.
    /// </summary>
    public static Tensor Transform(Tensor x, FeaturePlan plan, int step)
    {
        if (x.dim() != 4) return x.alias();
        using var scope = NewDisposeScope();
        var s = plan.Shifts[step];
        double scale = plan.Scales[step], angle = plan.Angles[step];
        var rolled = x.roll([s[0], s[1]], [2, 3]);
        var theta = tensor(new[] { scale * Math.Cos(angle), -scale * Math.Sin(angle), 0, scale * Math.Sin(angle), scale * Math.Cos(angle), 0 }, dtype: x.dtype, device: x.device)
            .reshape(1, 2, 3).expand(x.shape[0], 2, 3);
        var grid = nn.functional.affine_grid(theta, x.shape, align_corners: false);
        var turned = nn.functional.grid_sample(rolled, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Reflection, align_corners: false);
        return turned.roll([s[2], s[3]], [2, 3]).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Maximises, for every c, the mean activation a_k(x_c) of channel k = <paramref name="channels"/>[c] of
    /// <paramref name="layer"/> (the mean over all positions of output[·, k]) over its own input x_c, all K channels in one
    /// batch (eval mode: the rows do not interact, so this is K independent optimisations): x_c ← x₀; per step t,
    /// g = ∇ₓ(−Σ_c a_k(T_t(x_c))) and Adam (β = 0.9, 0.999, ε = 1e-8, rate <paramref name="learningRate"/>) updates x.
    /// Returns the inputs [K, …input shape] on the CPU and each a_k of the untransformed result.
    /// </summary>
    public static (Tensor Images, double[] Activations) Maximise(nn.Module<Tensor, Tensor> network, nn.Module<Tensor, Tensor> layer, long[] channels,
        FeaturePlan plan, int steps, double learningRate, Device device)
    {
        Tensor? captured = null;
        // An alias: containers such as Sequential dispose their intermediate outputs.
        var hook = layer.register_forward_hook((m, input, output) => { captured = output.alias(); return output; });
        int k = channels.Length;
        Tensor x, index;
        using (NewDisposeScope())
        {
            x = plan.Start.to(device).repeat([k, .. Enumerable.Repeat(1L, (int)plan.Start.dim() - 1)]).MoveToOuterDisposeScope();
            index = tensor(channels, dtype: ScalarType.Int64, device: device).reshape(k, 1).MoveToOuterDisposeScope();
        }
        using var m1 = zeros_like(x);
        using var m2 = zeros_like(x);
        Tensor Activations() => captured!.reshape(k, captured.shape[1], -1).mean([2]).gather(1, index);
        try
        {
            for (int t = 0; t < steps; t++)
            {
                using var scope = NewDisposeScope();
                var input = x.detach().requires_grad_(true);
                network.call(Transform(input, plan, t));
                var g = autograd.grad([Activations().sum().neg()], [input])[0].detach();
                using var noGrad = no_grad();
                m1.mul_(0.9).add_(g, alpha: 0.1);
                m2.mul_(0.999).addcmul_(g, g, value: 0.001);
                var mHat = m1 / (1 - Math.Pow(0.9, t + 1));
                var vHat = m2 / (1 - Math.Pow(0.999, t + 1));
                x.sub_(mHat / (vHat.sqrt() + 1e-8) * learningRate);
            }
            double[] activations;
            using (NewDisposeScope())
            using (no_grad())
            {
                network.call(x);
                activations = Activations().to_type(ScalarType.Float64).cpu().data<double>().ToArray();
            }
            Tensor images;
            using (NewDisposeScope()) images = x.detach().to(CPU).clone().MoveToOuterDisposeScope();
            return (images, activations);
        }
        finally
        {
            hook.remove();
            x.Dispose();
            index.Dispose();
        }
    }
}
