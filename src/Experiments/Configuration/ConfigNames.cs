using System.Text;

namespace SubnetworkEnsembles.Experiments.Configuration;

/// <summary>How C# names appear in YAML: properties in snake_case, enum values in kebab-case.</summary>
public static class ConfigNames
{
    /// <summary>"BatchSize" → "batch_size", "Beta1" → "beta1", "K" → "k".</summary>
    public static string Key(string propertyName) => Split(propertyName, '_');

    /// <summary>"FashionMnist" → "fashion-mnist".</summary>
    public static string EnumValue(Enum value) => Split(value.ToString(), '-');

    /// <summary>Lower case without '_' and '-', for matching a YAML spelling to a C# name.</summary>
    public static string Normalize(string name) => name.Replace("_", "").Replace("-", "").ToLowerInvariant();

    /// <summary>The candidate closest to <paramref name="given"/> by edit distance, if close enough to be a typo.</summary>
    public static string? Nearest(string given, IEnumerable<string> candidates)
    {
        string? best = null; int bestDistance = int.MaxValue;
        foreach (var c in candidates)
        {
            int d = Distance(given.ToLowerInvariant(), c.ToLowerInvariant());
            if (d < bestDistance) (best, bestDistance) = (c, d);
        }
        return best is not null && bestDistance <= Math.Max(2, given.Length / 3) ? best : null;
    }

    private static string Split(string name, char separator)
    {
        var sb = new StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c) && i > 0 && !char.IsUpper(name[i - 1])) sb.Append(separator);
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }
}
