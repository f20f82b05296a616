using System.Text.Json.Nodes;

namespace SubnetworkEnsembles.Experiments.Pipeline;

/// <summary>
/// Checks that a JSON document has the keys and value kinds its readers rely on, so a hand-edited or damaged file is
/// one clear <see cref="CorruptFileException"/> ("has no integer at 'ensemble.member_indices[2]'") at the point of
/// reading rather than a null reference deep inside a consumer. A rule is <c>PATH:KIND</c>: PATH is dot-separated keys,
/// where <c>key?</c> may be absent (or null), <c>key[]</c> applies the rest to every element of an array and <c>*</c>
/// to every value of an object; KIND is object, array, string, int, number or bool, with a trailing <c>?</c> allowing null.
/// </summary>
public static class JsonShape
{
    /// <summary>Checks <paramref name="root"/> (read from <paramref name="file"/>) against <paramref name="rules"/>; returns it.</summary>
    public static JsonObject Check(JsonObject root, string file, IEnumerable<string> rules)
    {
        foreach (var rule in rules)
        {
            int colon = rule.LastIndexOf(':');
            Walk(root, rule[..colon].Split('.'), 0, "", rule[(colon + 1)..], file);
        }
        return root;
    }

    private static void Walk(JsonNode? node, string[] path, int at, string where, string kind, string file)
    {
        if (at == path.Length)
        {
            Expect(node, kind, where, file);
            return;
        }
        string segment = path[at];
        int depth = 0;
        while (segment.EndsWith("[]", StringComparison.Ordinal)) (segment, depth) = (segment[..^2], depth + 1);
        bool optional = segment.EndsWith('?');
        if (optional) segment = segment[..^1];
        var obj = Expect(node, "object", where, file).AsObject();
        var children = segment == "*" ? obj.Select(kv => (Join(where, kv.Key), kv.Value)).ToList() : [(Join(where, segment), obj[segment])];
        foreach (var (here, child) in children)
        {
            if (child is null && optional) continue;
            Elements(child, depth, here, file, (element, place) => Walk(element, path, at + 1, place, kind, file));
        }
    }

    /// <summary>Calls <paramref name="next"/> on <paramref name="node"/> itself (depth 0) or on every element of its nested arrays.</summary>
    private static void Elements(JsonNode? node, int depth, string where, string file, Action<JsonNode?, string> next)
    {
        if (depth == 0)
        {
            next(node, where);
            return;
        }
        var array = Expect(node, "array", where, file).AsArray();
        for (int i = 0; i < array.Count; i++) Elements(array[i], depth - 1, $"{where}[{i}]", file, next);
    }

    private static JsonNode Expect(JsonNode? node, string kind, string where, string file)
    {
        bool nullable = kind.EndsWith('?');
        string wanted = nullable ? kind[..^1] : kind;
        if (node is null)
        {
            if (nullable) return null!;
            throw new CorruptFileException(file, $"has no {Noun(wanted)} at '{where}'; the file is damaged or was edited by hand");
        }
        bool fits = wanted switch
        {
            "object" => node is JsonObject,
            "array" => node is JsonArray,
            "string" => node is JsonValue s && s.TryGetValue<string>(out _),
            "bool" => node is JsonValue b && b.TryGetValue<bool>(out _),
            "int" => node is JsonValue i && i.TryGetValue<int>(out _),
            _ => node is JsonValue d && d.TryGetValue<double>(out _),
        };
        if (!fits) throw new CorruptFileException(file, $"has {Truncate(node.ToJsonString())} at '{where}', expected {Noun(wanted)}; the file is damaged or was edited by hand");
        return node;
    }

    private static string Join(string where, string key) => where.Length == 0 ? key : where + "." + key;

    private static string Noun(string kind) => kind switch
    {
        "int" => "an integer",
        "object" or "array" => "an " + kind,
        _ => "a " + kind,
    };

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..37] + "…";
}
