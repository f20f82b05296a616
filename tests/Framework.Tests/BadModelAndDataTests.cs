using Shouldly;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// Models and data that cannot work, through the real <c>sne</c>: each stops before training with one line naming the
/// model, layer, file or shape, exit code 3 for a model plugin that breaks the model contract and 2 for the user's own
/// mistake (a model that does not fit the data, a malformed file), no stack trace and no run directory.
/// </summary>
[Trait("Category", "e2e")]
public sealed class BadModelAndDataTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Model plugins that break the contract: a wrong output shape, no maskable weight, a layer run by forward(), a crash on the input.</summary>
    private const string BadModels = """
        using SubnetworkEnsembles.Abstractions;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;

        namespace BadModels;

        public sealed class OneLayer : nn.Module<Tensor, Tensor>
        {
            private readonly Linear fc;
            public OneLayer(long inputs, long outputs) : base(nameof(OneLayer)) { fc = nn.Linear(inputs, outputs); RegisterComponents(); }
            public override Tensor forward(Tensor x) => fc.call(x.flatten(1));
        }

        [Plugin("extra-class", PluginKind.Model, Description = "one logit too many")]
        public sealed class ExtraClass : IModelFactory
        {
            public nn.Module<Tensor, Tensor> Build(ModelContext c) => new OneLayer(c.InputShape.Aggregate(1L, (a, b) => a * b), c.Classes + 1);
        }

        [Plugin("fixed-input", PluginKind.Model, Description = "ignores the input shape")]
        public sealed class FixedInput : IModelFactory
        {
            public nn.Module<Tensor, Tensor> Build(ModelContext c) => new OneLayer(10, c.Classes);
        }

        public sealed class NoWeights : nn.Module<Tensor, Tensor>
        {
            private readonly Parameter scale = new(ones(1));
            private readonly int classes;
            public NoWeights(int classes) : base(nameof(NoWeights)) { this.classes = classes; RegisterComponents(); }
            public override Tensor forward(Tensor x) => x.flatten(1).sum(1, keepdim: true).mul(scale).expand(-1, classes);
        }

        [Plugin("no-weights", PluginKind.Model, Description = "no Linear or Conv2d")]
        public sealed class NoWeightsModel : IModelFactory
        {
            public nn.Module<Tensor, Tensor> Build(ModelContext c) => new NoWeights(c.Classes);
        }

        public sealed class DirectForward : nn.Module<Tensor, Tensor>
        {
            private readonly Linear hidden;
            private readonly Linear head;
            public DirectForward(long inputs, long classes) : base(nameof(DirectForward))
            {
                hidden = nn.Linear(inputs, 16);
                head = nn.Linear(16, classes);
                RegisterComponents();
            }
            public override Tensor forward(Tensor x) => head.call(hidden.forward(x.flatten(1)).relu());
        }

        [Plugin("direct-forward", PluginKind.Model, Description = "calls a layer's forward()")]
        public sealed class DirectForwardModel : IModelFactory
        {
            public nn.Module<Tensor, Tensor> Build(ModelContext c) => new DirectForward(c.InputShape.Aggregate(1L, (a, b) => a * b), c.Classes);
        }
        """;

    /// <summary>A tiny spirals experiment with <paramref name="model"/> and <paramref name="data"/> (YAML flow mappings).</summary>
    private string Config(string name, string model, string data) => _dir.File(name + ".yaml", $$"""
        name: {{name}}
        seed: 0
        data: {{data}}
        model: {{model}}
        parent: { epochs: 1, batch_size: 32, optimizer: { type: adam }, schedule: { type: constant, lr: 0.001 } }
        children:
          count: 2
          sampler: { type: partition, k: 2 }
          perturbation: { type: prune }
          tuning: { epochs: 1, batch_size: 32, optimizer: { type: adam }, schedule: { type: constant, lr: 0.001 } }
        metrics: [accuracy]
        """);

    private const string Spirals = "{ dataset: spirals, points: 200, test_points: 50, validation: 20 }";

    /// <summary>sne run: the exit code, and the one line it wrote (libtorch's own "[W…]" hardware warnings aside).</summary>
    private (int ExitCode, string Line) Run(string config, params string[] more)
    {
        string run = Path.Combine(_dir.Path, "run-" + Path.GetFileNameWithoutExtension(config));
        var result = Sne.Run(["run", config, "--out", run, .. more]);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => !l.StartsWith("[W", StringComparison.Ordinal)).ToList();
        lines.Count.ShouldBe(1, result.Output);
        result.Output.ShouldNotContain("   at ");
        result.Stdout.ShouldNotContain("epoch");
        Directory.Exists(run).ShouldBeFalse("a run directory was created for " + config);
        return (result.ExitCode, lines[0]);
    }

    [Fact]
    public void A_model_plugin_that_breaks_the_contract_exits_3_naming_the_model_and_the_problem()
    {
        PluginProject.Build(_dir.Path, "BadModels", BadModels);
        string[] plugins = ["--plugins", Path.Combine(_dir.Path, "plugins")];

        var (code, line) = Run(Config("extra-class", "{ type: extra-class }", Spirals), plugins);
        code.ShouldBe(3, line);
        line.ShouldContain("model 'extra-class' outputs [1, 3] for one sample of shape [2]; expected logits [1, 2] (2 classes in the data)");

        (code, line) = Run(Config("no-weights", "{ type: no-weights }", Spirals), plugins);
        code.ShouldBe(3, line);
        line.ShouldContain("model 'no-weights' has no nn.Linear or nn.Conv2d weight to mask");

        (code, line) = Run(Config("direct-forward", "{ type: direct-forward }", Spirals), plugins);
        code.ShouldBe(3, line);
        line.ShouldContain("model 'direct-forward': hidden.weight never ran through call() in a forward pass");

        (code, line) = Run(Config("fixed-input", "{ type: fixed-input }", Spirals), plugins);
        code.ShouldBe(3, line);
        line.ShouldContain("model 'fixed-input' failed on one sample of shape [2]:");
    }

    [Fact]
    public void A_builtin_model_that_cannot_take_the_samples_exits_2()
    {
        var (code, line) = Run(Config("lenet-on-spirals", "{ type: lenet }", Spirals));
        code.ShouldBe(2, line);
        line.ShouldStartWith("sne: error: model: model 'lenet' does not fit the data (samples [2], 2 classes)");
    }

    [Fact]
    public void Malformed_csv_files_exit_2_naming_the_file_line_and_column()
    {
        string Csv(string name, string text) => _dir.File(name, text);
        string Table(string train, string test) => $"{{ dataset: csv, path: {train}, test_path: {test}, validation: 2 }}";
        string mlp = "{ type: mlp, hidden: [8] }";
        string good = Csv("good.csv", "a,b,label\n" + string.Concat(Enumerable.Range(0, 12).Select(i => $"{i},{i % 3},{i % 2}\n")));

        string text = Csv("text.csv", "a,b,label\n1,2,0\n3,x4,1\n5,6,0\n7,8,1\n9,1,0\n2,3,1\n");
        var (code, line) = Run(Config("non-numeric", mlp, Table(text, good)));
        code.ShouldBe(2, line);
        line.ShouldContain($"{text}:3 column 'b': expected a number, got 'x4'");

        string oneClass = Csv("one-class.csv", "a,b,label\n1,2,0\n3,4,0\n5,6,0\n7,8,0\n");
        (code, line) = Run(Config("one-class", mlp, Table(oneClass, good)));
        code.ShouldBe(2, line);
        line.ShouldContain(oneClass);
        line.ShouldContain("one class");

        string outside = Csv("outside.csv", "a,b,label\n1,2,0\n3,4,7\n");
        (code, line) = Run(Config("label-outside", mlp, Table(good, outside)));
        code.ShouldBe(2, line);
        line.ShouldContain($"{outside}:3 column 'label': label 7 is outside the classes 0 … 1");
    }

    [Fact]
    public void An_image_folder_with_mixed_sizes_and_no_resize_exits_2_naming_the_file()
    {
        foreach (var (split, cls, size) in new[] { ("train", "a", 8), ("train", "b", 8), ("test", "a", 8), ("test", "b", 6) })
            for (int i = 0; i < 3; i++)
                DatasetFiles.GreyPng(Path.Combine(_dir.Path, "images", split, cls, $"{i}.png"), size, size, (y, x) => (byte)(20 * i + y + x));
        string folder = "{ dataset: image-folder, directory: images, validation: 2 }";

        var (code, line) = Run(Config("mixed-sizes", "{ type: resnet, depth: 8 }", folder));
        code.ShouldBe(2, line);
        line.ShouldContain($"{Path.Combine(_dir.Path, "images", "test", "b", "0.png")}: image is 6×6 (H×W) but");
        line.ShouldContain("set resize: [H, W]");
    }
}
