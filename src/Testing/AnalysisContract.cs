using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Testing.Internal;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Testing;

/// <summary>
/// The contract of <see cref="IAnalysis"/> in one call, on a seeded context (<see cref="AnalysisContract.Context"/>): a
/// parent and two members (a linear network and two small MLPs) over 24 test rows of shape [1, 8, 8] and 3 classes.
/// Two fresh instances given generators of the same seed return the same scalars and tables (an analysis draws only
/// from the context's generator); every table matches its labels and table names are unique; every figure named was
/// written into the figure directory as a file name without folders; the inputs, labels, saved probabilities and the
/// networks' weights are unchanged; no tensor is left undisposed over repeated calls.
/// </summary>
public static class AnalysisContract
{
    /// <summary>Checks the analysis made by <paramref name="create"/>; throws <see cref="ContractException"/> naming it and the first problem.</summary>
    public static void Check(Func<IAnalysis> create, int leakCalls = 2)
    {
        var used = create();
        string plugin = PluginNames.Of(used, "analysis");
        using var fixture = new Fixture();
        var first = fixture.Run(used, seed: 7);
        var fresh = fixture.Run(create(), seed: 7);
        Describe(plugin, first.Output, first.Directory);
        if (!SameValues(first.Output, fresh.Output))
            throw new ContractException(plugin, "two instances given generators of the same seed returned different scalars or tables; draw every random number from context.Generator");
        if (!fixture.Unchanged())
            throw new ContractException(plugin, "Run changed its inputs (test rows, labels, saved probabilities) or a network's weights");
        Tensors.ShouldNotLeak(plugin, "Run", leakCalls, () => fixture.Run(used, seed: 7));
    }

    /// <summary>
    /// A seeded context like the one <see cref="Check"/> uses, for an author's own tests: members "parent", "child 0",
    /// "child 1" (linear, MLP, MLP) over 24 rows [1, 8, 8], 3 classes, figures written into <paramref name="figureDirectory"/>.
    /// Dispose the returned fixture after use.
    /// </summary>
    public static (AnalysisContext Context, IDisposable Fixture) Context(string figureDirectory, ulong seed = 7)
    {
        var fixture = new Fixture();
        return (fixture.ContextFor(figureDirectory, new Generator(seed)), fixture);
    }

    private static void Describe(string plugin, AnalysisOutput output, string directory)
    {
        foreach (var (key, _) in output.Scalars)
            if (string.IsNullOrWhiteSpace(key)) throw new ContractException(plugin, "returned a scalar with an empty name");
        foreach (var t in output.Tables)
        {
            if (string.IsNullOrWhiteSpace(t.Name)) throw new ContractException(plugin, "returned a table with an empty name");
            if (t.Values.Length != t.RowLabels.Count || t.Values.Any(r => r.Length != t.ColumnLabels.Count))
                throw new ContractException(plugin, $"table '{t.Name}' is not {t.RowLabels.Count} × {t.ColumnLabels.Count} as its labels say");
        }
        if (output.Tables.Select(t => t.Name).Distinct().Count() != output.Tables.Count) throw new ContractException(plugin, "returned two tables of the same name");
        foreach (var f in output.Figures)
            if (f.File.IndexOfAny(['/', '\\']) >= 0 || !File.Exists(Path.Combine(directory, f.File)))
                throw new ContractException(plugin, $"figure '{f.File}' is not a file written into context.FigureDirectory");
    }

    private static bool SameValues(AnalysisOutput a, AnalysisOutput b)
    {
        static bool Same(double x, double y) => x.Equals(y);   // NaN equals NaN
        return a.Scalars.Count == b.Scalars.Count && a.Scalars.All(kv => b.Scalars.TryGetValue(kv.Key, out var v) && Same(kv.Value, v))
            && a.Tables.Count == b.Tables.Count && a.Tables.Zip(b.Tables).All(p => p.First.Name == p.Second.Name
                && p.First.Values.Length == p.Second.Values.Length
                && p.First.Values.Zip(p.Second.Values).All(r => r.First.Length == r.Second.Length && r.First.Zip(r.Second).All(v => Same(v.First, v.Second))));
    }

    /// <summary>The seeded networks and data of the contract's context, and snapshots to tell whether a run changed them.</summary>
    private sealed class Fixture : IDisposable
    {
        private const int Rows = 24, Classes = 3;
        private static readonly long[] Shape = [1, 8, 8];
        private readonly Tensor _inputs, _labels;
        private readonly List<AnalysisMember> _members = [];
        private readonly List<Tensor> _before;
        private readonly string _root = Path.Combine(Path.GetTempPath(), "sne-analysis-contract-" + Guid.NewGuid().ToString("N")[..8]);

        public Fixture()
        {
            using var generator = new Generator(2024);
            _inputs = randn([Rows, .. Shape], generator: generator);
            _labels = randint(0, Classes, [Rows], dtype: ScalarType.Int64, generator: generator);
            nn.Module<Tensor, Tensor>[] networks =
            [
                nn.Sequential(nn.Flatten(), nn.Linear(64, Classes)),
                nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, Classes)),
                nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, Classes)),
            ];
            string[] names = ["parent", "child 0", "child 1"];
            for (int i = 0; i < networks.Length; i++)
            {
                using (no_grad())
                    foreach (var p in networks[i].parameters()) p.copy_(randn(p.shape, generator: generator).mul_(0.3));
                networks[i].eval();
                Tensor probabilities;
                using (no_grad()) probabilities = networks[i].call(_inputs).softmax(1);
                _members.Add(new AnalysisMember(names[i], i - 1, networks[i], probabilities));
            }
            _before = Tensors.Snapshot(All());
            Directory.CreateDirectory(_root);
        }

        private IEnumerable<Tensor> All() =>
            new[] { _inputs, _labels }.Concat(_members.Select(m => m.TestProbabilities)).Concat(_members.SelectMany(m => m.Network.parameters()));

        public bool Unchanged()
        {
            var now = All().ToList();
            return Tensors.Same(now, _before);
        }

        public AnalysisContext ContextFor(string directory, Generator generator) => new()
        {
            Members = _members, InputShape = Shape, Classes = Classes, Device = CPU, TestRows = Rows, TestLabels = _labels,
            ReadTestRows = rows =>
            {
                using var index = tensor(rows, dtype: ScalarType.Int64);
                return new LabeledBatch(_inputs.index_select(0, index), _labels.index_select(0, index));
            },
            Generator = generator, RunSeed = 7, FigureDirectory = directory,
        };

        public (AnalysisOutput Output, string Directory) Run(IAnalysis analysis, ulong seed)
        {
            string directory = Path.Combine(_root, Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(directory);
            using var generator = new Generator(seed);
            return (analysis.Run(ContextFor(directory, generator)), directory);
        }

        public void Dispose()
        {
            foreach (var m in _members)
            {
                m.Network.Dispose();
                m.TestProbabilities.Dispose();
            }
            _inputs.Dispose();
            _labels.Dispose();
            Tensors.DisposeAll(_before);
            if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
        }
    }
}
