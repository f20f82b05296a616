using SubnetworkEnsembles.Abstractions;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SubnetworkEnsembles.Engine.Data;

/// <summary>The corruptions of Fashion-MNIST-C (after Hendrycks &amp; Dietterich's CIFAR-10-C, scaled to 28×28 grayscale).</summary>
public enum Corruption
{
    /// <summary>x + 𝒩(0, σ²), σ = 0.08 … 0.38.</summary>
    GaussianNoise,
    /// <summary>Poisson(λ·x)/λ, λ = 60 … 3 (photon noise: stronger where the image is bright).</summary>
    ShotNoise,
    /// <summary>Salt and pepper: a fraction 0.03 … 0.27 of the pixels set to 0 or 1 (half each).</summary>
    ImpulseNoise,
    /// <summary>Convolution with a Gaussian of σ = 0.4 … 1.5 px.</summary>
    GaussianBlur,
    /// <summary>Convolution with a line of 3 … 11 px at a random angle in [−45°, 45°] per image.</summary>
    MotionBlur,
    /// <summary>Each block of k × k pixels (k = 2 … 6) replaced by its mean.</summary>
    Pixelate,
    /// <summary>(x − mean) · c + mean per image, c = 0.5 … 0.1.</summary>
    Contrast,
    /// <summary>x + b, b = 0.1 … 0.5.</summary>
    Brightness,
    /// <summary>Random displacement fields (uniform, Gaussian-smoothed with σ = 3 px) of amplitude 1 … 5 px, bilinear resampling.</summary>
    ElasticTransform,
}

/// <summary>
/// Corrupted copies of a test set, made deterministically: corruption c at severity s ∈ {1, …, 5} of images
/// float32 [N, 1, H, W] with pixels in [0, 1] (before normalisation) draws every random number from a generator seeded
/// by (seed, c, s), so the same seed always gives the same Fashion-MNIST-C. Results are clipped to [0, 1].
/// </summary>
public static class Corruptions
{
    /// <summary>Severities run from 1 (mild) to this.</summary>
    public const int Severities = 5;

    private static readonly double[] GaussianSigma = [0.08, 0.12, 0.18, 0.26, 0.38];
    private static readonly double[] ShotLambda = [60, 25, 12, 5, 3];
    private static readonly double[] ImpulseAmount = [0.03, 0.06, 0.09, 0.17, 0.27];
    private static readonly double[] BlurSigma = [0.4, 0.6, 0.8, 1.0, 1.5];
    private static readonly int[] MotionLength = [3, 5, 7, 9, 11];
    private static readonly int[] PixelateBlock = [2, 3, 4, 5, 6];
    private static readonly double[] ContrastFactor = [0.5, 0.4, 0.3, 0.2, 0.1];
    private static readonly double[] BrightnessShift = [0.1, 0.2, 0.3, 0.4, 0.5];
    private static readonly double[] ElasticAmplitude = [1, 2, 3, 4, 5];

    /// <summary>Corrupts <paramref name="images"/> (float32 [N, 1, H, W] in [0, 1]); returns a new tensor of the same shape.</summary>
    public static Tensor Apply(Tensor images, Corruption corruption, int severity, long seed)
    {
        if (severity is < 1 or > Severities) throw new ArgumentOutOfRangeException(nameof(severity), severity, $"severity must be 1 … {Severities}");
        if (images.dim() != 4) throw new ArgumentException($"expected images [N, C, H, W], got [{string.Join(", ", images.shape)}]", nameof(images));
        int s = severity - 1;
        using var g = Seeds.Generator(seed, "corruption/" + corruption, severity);
        using var scope = NewDisposeScope();
        var x = images.to_type(ScalarType.Float32);
        var result = corruption switch
        {
            Corruption.GaussianNoise => x + randn(x.shape, generator: g) * GaussianSigma[s],
            Corruption.ShotNoise => poisson(x * ShotLambda[s], g) / ShotLambda[s],
            Corruption.ImpulseNoise => Impulse(x, ImpulseAmount[s], g),
            Corruption.GaussianBlur => Convolve(x, GaussianKernel(BlurSigma[s]).expand(x.shape[0], 1, -1, -1)),
            Corruption.MotionBlur => Convolve(x, MotionKernels(x.shape[0], MotionLength[s], g)),
            Corruption.Pixelate => Pixelate(x, PixelateBlock[s]),
            Corruption.Contrast => (x - x.mean([1, 2, 3], keepdim: true)) * ContrastFactor[s] + x.mean([1, 2, 3], keepdim: true),
            Corruption.Brightness => x + BrightnessShift[s],
            _ => Elastic(x, ElasticAmplitude[s], g),
        };
        return result.clamp(0, 1).MoveToOuterDisposeScope();
    }

    private static Tensor Impulse(Tensor x, double amount, Generator g)
    {
        var u = rand(x.shape, generator: g);
        var salt = rand(x.shape, generator: g) < 0.5;
        var hit = u < amount;
        return where(hit, salt.to_type(ScalarType.Float32), x);
    }

    /// <summary>Per-image convolution: kernels [N, 1, k, k] (k odd), replicate padding, as a grouped convolution.</summary>
    private static Tensor Convolve(Tensor x, Tensor kernels)
    {
        long n = x.shape[0], c = x.shape[1], k = kernels.shape[^1];
        var padded = F.pad(x.reshape(1, n * c, x.shape[2], x.shape[3]), [k / 2, k / 2, k / 2, k / 2], PaddingModes.Replicate);
        var weight = c == 1 ? kernels : kernels.repeat_interleave(c, 0);
        return F.conv2d(padded, weight, groups: n * c).reshape(x.shape);
    }

    private static Tensor GaussianKernel(double sigma)
    {
        int radius = (int)Math.Ceiling(3 * sigma);
        var r = arange(-radius, radius + 1, dtype: ScalarType.Float32);
        var one = (-(r * r) / (2 * sigma * sigma)).exp();
        one /= one.sum();
        return one.unsqueeze(1).mm(one.unsqueeze(0)).reshape(1, 1, 2 * radius + 1, 2 * radius + 1);
    }

    /// <summary>One normalised line kernel [N, 1, L, L] per image, at an angle uniform in [−45°, 45°].</summary>
    private static Tensor MotionKernels(long n, int length, Generator g)
    {
        var angles = (rand([n], generator: g) - 0.5) * (Math.PI / 2);
        var cos = angles.cos().data<float>().ToArray();
        var sin = angles.sin().data<float>().ToArray();
        var values = new float[n * length * length];
        int c = length / 2;
        for (int i = 0; i < n; i++)
        {
            for (int t = -c; t <= c; t++)
            {
                int col = c + (int)Math.Round(t * cos[i]), row = c + (int)Math.Round(t * sin[i]);
                values[(i * length + row) * length + col] = 1;
            }
        }
        var kernels = tensor(values, [n, 1, length, length]);
        return kernels / kernels.sum([2, 3], keepdim: true);
    }

    private static Tensor Pixelate(Tensor x, int block)
    {
        var means = F.avg_pool2d(x, [block, block], [block, block], ceil_mode: true, count_include_pad: false);
        var up = means.repeat_interleave(block, 2).repeat_interleave(block, 3);
        return up.narrow(2, 0, x.shape[2]).narrow(3, 0, x.shape[3]);
    }

    private static Tensor Elastic(Tensor x, double amplitude, Generator g)
    {
        long n = x.shape[0], h = x.shape[2], w = x.shape[3];
        var field = rand([n * 2, 1, h, w], generator: g) * 2 - 1;                       // dx and dy of every image
        var smooth = Convolve(field.reshape(n, 2, h, w), GaussianKernel(3).expand(n, 1, -1, -1));
        var std = smooth.flatten(1).std(1).reshape(n, 1, 1, 1).clamp_min(1e-6);
        var displacement = smooth / std * amplitude;                                     // px, RMS = amplitude
        var ys = linspace(-1, 1, h).reshape(1, h, 1).expand(n, h, w);
        var xs = linspace(-1, 1, w).reshape(1, 1, w).expand(n, h, w);
        var gx = xs + displacement.select(1, 0) * (2.0 / (w - 1));
        var gy = ys + displacement.select(1, 1) * (2.0 / (h - 1));
        var grid = stack([gx, gy], 3);
        return F.grid_sample(x, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Border, align_corners: true);
    }
}
