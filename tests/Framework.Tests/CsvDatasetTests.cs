using Shouldly;
using SubnetworkEnsembles.Abstractions;
using SubnetworkEnsembles.Datasets;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>The csv dataset plugin: parsing, labels, splits and every bad input with its exact message.</summary>
[Trait("Category", "unit")]
public sealed class CsvDatasetTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private DatasetContext Context(int validation = 0) => new(SplitSeed: 7, BaseDirectory: _dir.Path, ValidationRows: validation);

    private static float[] All(IDataSplit split)
    {
        using var rows = arange(split.Count);
        using var x = split.Read(rows);
        return x.data<float>().ToArray();
    }

    [Fact]
    public void String_labels_become_sorted_class_indices_and_features_keep_column_order()
    {
        _dir.File("train.csv", "a,species,b\n1.5,setosa,2\n-3,versicolor,4e1\n5,setosa,6\n");
        _dir.File("test.csv", "species,b,a\nversicolor,8,7\n");
        using var splits = new CsvDataset(new CsvDatasetOptions { Path = "train.csv", TestPath = "test.csv", Label = "species" }).Load(Context());

        splits.ClassNames.ShouldBe(["setosa", "versicolor"]);
        splits.InputShape.ShouldBe([2L]);
        splits.Validation.ShouldBeNull();
        All(splits.Train).ShouldBe([1.5f, 2f, -3f, 40f, 5f, 6f]);
        splits.Train.Labels.data<long>().ToArray().ShouldBe([0L, 1L, 0L]);
        All(splits.Test).ShouldBe([7f, 8f]);                      // columns found by name in the test file's own order
        splits.Test.Labels.data<long>().ToArray().ShouldBe([1L]);
    }

    [Fact]
    public void Integer_labels_selected_features_and_a_semicolon_delimiter()
    {
        _dir.File("t.csv", "x;y;z;label\n1;2;3;0\n4;5;6;2\n\n7;8;9;1\n");
        _dir.File("v.csv", "x;y;z;label\n10;11;12;2\n");
        using var splits = new CsvDataset(new CsvDatasetOptions { Path = "t.csv", TestPath = "t.csv", ValidationPath = "v.csv", Features = ["z", "x"], Delimiter = ";" }).Load(Context());

        splits.ClassNames.ShouldBe(["0", "1", "2"]);
        All(splits.Train).ShouldBe([3f, 1f, 6f, 4f, 9f, 7f]);
        splits.Train.Labels.data<long>().ToArray().ShouldBe([0L, 2L, 1L]);
        All(splits.Validation!).ShouldBe([12f, 10f]);
    }

    [Fact]
    public void Fractions_split_one_file_into_disjoint_parts_by_the_split_seed()
    {
        var text = new System.Text.StringBuilder("f,label\n");
        for (int i = 0; i < 20; i++) text.Append(i).Append(',').Append(i % 2).Append('\n');
        _dir.File("all.csv", text.ToString());
        var options = new CsvDatasetOptions { Path = "all.csv", Fractions = [0.6, 0.2, 0.2] };
        using var a = new CsvDataset(options).Load(Context());
        using var b = new CsvDataset(options).Load(Context());
        using var other = new CsvDataset(options).Load(new DatasetContext(8, _dir.Path, 0));

        (a.Train.Count, a.Validation!.Count, a.Test.Count).ShouldBe((12L, 4L, 4L));
        var rows = All(a.Train).Concat(All(a.Validation)).Concat(All(a.Test)).Order().ToArray();
        rows.ShouldBe(Enumerable.Range(0, 20).Select(i => (float)i).ToArray());
        All(a.Test).ShouldBe(All(b.Test));
        All(a.Test).ShouldNotBe(All(other.Test));
        All(a.Train).ShouldBe(All(a.Train).Order().ToArray());    // each part keeps file order
        a.Train.Labels.data<long>().ToArray().ShouldBe(All(a.Train).Select(f => (long)f % 2).ToArray());
    }

    [Fact]
    public void A_non_numeric_cell_names_file_line_and_column()
    {
        string path = _dir.File("bad.csv", "a,b,label\n1,2,0\n3,abc,1\n");
        var e = Should.Throw<DataException>(() => new CsvDataset(new CsvDatasetOptions { Path = "bad.csv", TestPath = "bad.csv" }).Load(Context()));
        e.Message.ShouldBe($"{path}:3 column 'b': expected a number, got 'abc'");
    }

    [Fact]
    public void Bad_files_and_labels_fail_with_one_line_naming_the_place()
    {
        string train = _dir.File("train.csv", "a,label\n1,cat\n2,dog\n");
        string Load(CsvDatasetOptions options) => Should.Throw<DataException>(() => new CsvDataset(options).Load(Context())).Message;

        string test = _dir.File("test.csv", "a,label\n1,cat\n2,emu\n");
        Load(new() { Path = "train.csv", TestPath = "test.csv" }).ShouldBe($"{test}:3 column 'label': label 'emu' is not one of the training classes (cat, dog)");
        Load(new() { Path = "missing.csv", TestPath = "test.csv" }).ShouldBe($"{Path.Combine(_dir.Path, "missing.csv")}: file not found");
        Load(new() { Path = "train.csv", TestPath = "test.csv", Label = "kind" }).ShouldBe($"{train}: has no column 'kind' (label); its columns are 'a', 'label'");

        string one = _dir.File("one.csv", "a,label\n1,cat\n2,cat\n");
        Load(new() { Path = "one.csv", TestPath = "test.csv" }).ShouldBe($"{one} column 'label': has only one class; a classifier needs at least two");
        string empty = _dir.File("empty.csv", "a,label\n");
        Load(new() { Path = "train.csv", TestPath = "empty.csv" }).ShouldBe($"{empty}: the test split is empty; it needs at least one row");
        string ragged = _dir.File("ragged.csv", "a,label\n1,cat,3\n");
        Load(new() { Path = "ragged.csv", TestPath = "test.csv" }).ShouldBe($"{ragged}:2: has 3 fields, the header has 2 (delimiter ',')");

        _dir.File("ints.csv", "a,label\n1,0\n2,1\n");
        string outside = _dir.File("outside.csv", "a,label\n1,0\n2,5\n");
        Load(new() { Path = "ints.csv", TestPath = "outside.csv" }).ShouldBe($"{outside}:3 column 'label': label 5 is outside the classes 0 … 1");
    }

    [Fact]
    public void Options_report_each_problem_by_its_yaml_key()
    {
        new CsvDatasetOptions { Path = "a.csv", TestPath = "b.csv" }.Validate().ShouldBeEmpty();
        new CsvDatasetOptions { Path = "a.csv" }.Validate().ShouldBe(["test_path: give either test_path (a separate test file) or fractions (one file split by fractions)"]);
        new CsvDatasetOptions { Path = "a.csv", Fractions = [0.5, 0.5, 0.5] }.Validate().ShouldBe(["fractions: must sum to 1, got 1.5"]);
        new CsvDatasetOptions { Path = "a.csv", TestPath = "b.csv", Delimiter = ";;" }.Validate().ShouldBe(["delimiter: must be one character, got ';;'"]);
        new CsvDatasetOptions { Path = "a.csv", TestPath = "b.csv", Features = ["label"] }.Validate().ShouldBe(["features: must not include the label column 'label'"]);
    }
}
