namespace SubnetworkEnsembles.Abstractions;

/// <summary>
/// Derives independent, reproducible seeds from the run's seed: every random draw of a run uses
/// <c>Derive(runSeed, stream, index)</c>, so a child's draws depend only on (seed, child index) and the
/// child can be regenerated alone. SplitMix64 over the run seed, a stable hash of the stream name and the index.
/// </summary>
public static class Seeds
{
    /// <summary>A 63-bit non-negative seed for stream <paramref name="stream"/> and item <paramref name="index"/>.</summary>
    public static long Derive(long runSeed, string stream, long index = 0)
    {
        ulong h = 14695981039346656037UL;               // FNV-1a of the stream name: stable across processes
        foreach (char c in stream) { h ^= c; h *= 1099511628211UL; }
        ulong x = Mix((ulong)runSeed ^ Mix(h ^ Mix((ulong)index)));
        return (long)(x >> 1);
    }

    /// <summary>A TorchSharp CPU generator seeded with <see cref="Derive"/>.</summary>
    public static TorchSharp.torch.Generator Generator(long runSeed, string stream, long index = 0)
        => new TorchSharp.torch.Generator((ulong)Derive(runSeed, stream, index));

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
