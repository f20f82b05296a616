using System.Text.Json.Nodes;
using Shouldly;
using SubnetworkEnsembles.Experiments.Pipeline;
using SubnetworkEnsembles.Experiments.Results;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// The typed results model against files written by the previous, string-keyed version (Fixtures/spirals-1de00ec, a
/// run of examples/spirals.yaml at commit 1de00ec): read, the values are the file's; written back, the JSON is the
/// same tree, key order and text included; metrics stay inline; non-finite numbers are null; damage is named.
/// </summary>
public class ResultsModelTests
{
    private static string Fixture(string name) => Path.Combine(Repo.Root, "tests", "Framework.Tests", "Fixtures", "spirals-1de00ec", name);

    [Trait("Category", "unit")]
    [Fact]
    public void Results_of_the_previous_version_are_read_with_the_values_of_the_file()
    {
        string text = File.ReadAllText(Fixture("results.json"));
        var results = ExperimentResults.Read(Fixture("results.json"));
        // Literals copied from the file, and checked to be in its text, so they cannot drift from it.
        foreach (var literal in new[] { "\"nll\": 0.295368872855964", "\"ece\": 0.04268689465522766", "\"ensemble_nonzero\": 17672", "\"lr\": 1.235018959622797E-06" })
            text.ShouldContain(literal);
        results.Name.ShouldBe("spirals");
        results.Data.Test.ShouldBe(250);
        results.Ensemble.Metrics["nll"].ShouldBe(0.295368872855964);
        results.Ensemble.MemberIndices.ShouldBe([0, 1, 2, 3]);
        results.Parent.Metrics["ece"].ShouldBe(0.04268689465522766);
        results.Parent.Metrics.Keys.ShouldBe(["accuracy", "ece", "mce", "nll"]);
        results.Parent.Seconds.ShouldBeNull();
        results.Members.Count.ShouldBe(4);
        results.Members[0].History![9].Lr.ShouldBe(1.235018959622797E-06);
        results.Members[3].Selected.ShouldBe(true);
        results.Cost!.Parameters!.EnsembleNonzero.ShouldBe(17672);
        results.Seconds!.Total.ShouldBe(4.080199399999999);
        results.TrustRegion.ShouldBeNull();
    }

    [Trait("Category", "unit")]
    [Theory]
    [InlineData("results.json")]
    [InlineData("parent.json")]
    [InlineData("child-000.json")]
    public void Written_back_the_typed_model_gives_the_same_JSON_tree(string file)
    {
        string text = File.ReadAllText(Fixture(file));
        string written = file switch
        {
            "results.json" => ExperimentResults.Read(Fixture(file)).ToJson(),
            "parent.json" => ResultsSerializer.Serialize(ParentResult.Read(Fixture(file))),
            _ => ResultsSerializer.Serialize(MemberResult.Read(Fixture(file), 0)),
        };
        JsonNode.DeepEquals(JsonNode.Parse(text), JsonNode.Parse(written)).ShouldBeTrue();
        written.ShouldBe(text);   // key order and number formatting too
    }

    [Trait("Category", "unit")]
    [Fact]
    public void A_missing_metric_is_named_with_the_metrics_present()
    {
        var results = ExperimentResults.Read(Fixture("results.json"));
        var e = Should.Throw<MissingMetricException>(() => results.Ensemble.Metrics["brier"]);
        e.Message.ShouldBe("metric 'brier' is not in the results (they hold: accuracy, ece, mce, nll); add it under metrics: in the experiment's configuration");
        e.ExitCode.ShouldBe(2);
        results.Ensemble.Metrics.Find("brier").ShouldBeNull();
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Metrics_are_inline_in_place_and_non_finite_numbers_are_null()
    {
        var ensemble = new EnsembleResult
        {
            Combiner = "mean", Members = 2, MemberIndices = [0, 2],
            Metrics = new MetricValues([KeyValuePair.Create("accuracy", 0.5), KeyValuePair.Create("nll", double.NaN)]),
            ExcludedFailed = [1],
            Pairwise = new Dictionary<string, double[][]> { ["disagreement"] = [[0, double.PositiveInfinity], [0.25, 0]] },
        };
        var results = new ExperimentResults { Name = "x", Ensemble = ensemble };
        var node = JsonNode.Parse(results.ToJson())!["ensemble"]!.AsObject();
        node.Select(kv => kv.Key).ShouldBe(["combiner", "members", "includes_parent", "member_indices", "accuracy", "nll", "excluded_failed", "pairwise"]);
        node["nll"].ShouldBeNull();
        node["pairwise"]!["disagreement"]![0]![1].ShouldBeNull();
        node["pairwise"]!["disagreement"]![1]![0]!.GetValue<double>().ShouldBe(0.25);

        string path = Path.Combine(Path.GetTempPath(), $"sne-results-{Guid.NewGuid():N}.json");
        try
        {
            results.Write(path);
            // results.json needs a parent and members to be read as a run's; the ensemble alone round-trips through the serializer.
            var back = System.Text.Json.JsonSerializer.Deserialize(File.ReadAllText(path), ResultsSerializer.Contract<ExperimentResults>())!.Ensemble;
            back.Metrics["accuracy"].ShouldBe(0.5);
            double.IsNaN(back.Metrics["nll"]).ShouldBeTrue();
            double.IsNaN(back.Pairwise!["disagreement"][0][1]).ShouldBeTrue();
            back.ExcludedFailed.ShouldBe([1]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Trait("Category", "unit")]
    [Fact]
    public void A_value_of_the_wrong_kind_is_a_corrupt_file_naming_the_file()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sne-child-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(path, File.ReadAllText(Fixture("child-000.json")).Replace("\"sparsity\": 0.5", "\"sparsity\": \"half\""));
            var e = Should.Throw<CorruptFileException>(() => MemberResult.Read(path, 0));
            e.Path.ShouldBe(path);
            e.Message.ShouldBe($"{path} does not fit the results model at 'sparsity' (expected a number or null, found string); the file is damaged or was edited by hand");
            Should.Throw<CorruptFileException>(() => MemberResult.Read(Fixture("child-000.json"), 1)).Message.ShouldEndWith("describes child 0, expected child 1");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
