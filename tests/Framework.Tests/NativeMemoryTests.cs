using Shouldly;
using SubnetworkEnsembles.Engine.Native;
using SubnetworkEnsembles.Engine.Training;
using Xunit;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// What keeps a run's resident memory near what it uses: evaluation batches sized by the sample (the probabilities do not
/// depend on the batch size), and <see cref="NativeHeap"/> handing freed heap pages back to the OS.
/// </summary>
[Trait("Category", "unit")]
public sealed class NativeMemoryTests
{
    [Theory]
    [InlineData(false, new long[] { 2 }, 1024)]
    [InlineData(false, new long[] { 784 }, 1024)]
    [InlineData(false, new long[] { 1, 28, 28 }, 1024)]
    [InlineData(false, new long[] { 1, 32, 32 }, 1024)]
    [InlineData(false, new long[] { 3, 32, 32 }, 256)]
    [InlineData(false, new long[] { 3, 224, 224 }, 16)]
    [InlineData(true, new long[] { 2 }, 1024)]
    [InlineData(true, new long[] { 1, 28, 28 }, 64)]
    [InlineData(true, new long[] { 3, 32, 32 }, 16)]
    [InlineData(true, new long[] { 3, 224, 224 }, 16)]
    public void Evaluation_batches_hold_a_bounded_number_of_input_values_between_16_and_1024_rows(bool convolutional, long[] sample, int rows)
    {
        Evaluator.BatchSizeFor(convolutional, sample).ShouldBe(rows);
    }

    [Fact]
    public void Probabilities_do_not_depend_on_the_evaluation_batch_size()
    {
        using var model = TestModels.LeNet(SubnetworkEnsembles.Models.Networks.LeNetSize.Small, [1, 28, 28], 4);
        using var g = new Generator(5);
        using var x = randn([70, 1, 28, 28], generator: g);
        using var whole = Evaluator.Probabilities(model, x, 70);
        using var automatic = Evaluator.Probabilities(model, x);
        using var sevens = Evaluator.Probabilities(model, x, 7);
        Evaluator.BatchSizeFor(model, [1, 28, 28]).ShouldBe(64);   // LeNet has convolutions: 64 rows, so 70 rows take two batches
        automatic.shape.ShouldBe([70L, 4L]);
        automatic.allclose(whole, rtol: 0, atol: 1e-6).ShouldBeTrue();
        sevens.allclose(whole, rtol: 0, atol: 1e-6).ShouldBeTrue();
    }

    [SkippableFact]
    public void Trimming_returns_freed_pages_between_live_allocations_to_the_os()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "malloc_trim and /proc/self/statm are Linux (glibc) facilities");
        // 1.5 MB blocks with small live spacers between them: once freed, the blocks' pages are inside the heap, where
        // only malloc_trim's page release (not the allocator's trimming of the heap top) can return them.
        var blocks = new List<Tensor>();
        var spacers = new List<Tensor>();
        NativeHeap.Trim();
        // Freeing a block the allocator mapped on its own raises glibc's mmap threshold above that size, so the 1.5 MB
        // blocks below come from the heap, as LibTorch's per-step buffers do in training.
        ones(1_000_000).Dispose();
        for (int i = 0; i < 160; i++)
        {
            blocks.Add(ones(375_000));      // 1.5 MB, touched
            spacers.Add(ones(16_384));   // 64 KB
        }
        long before = NativeHeap.ResidentBytes();
        foreach (var b in blocks) b.Dispose();
        long freed = NativeHeap.ResidentBytes();
        NativeHeap.Trim();
        long after = NativeHeap.ResidentBytes();
        foreach (var s in spacers) s.Dispose();
        before.ShouldBeGreaterThan(0);
        // 240 MB were freed. How much free itself returns depends on the allocator's state (between 34 and 220 MB in
        // runs of this test); after the trim, at least 150 MB must have left the resident set.
        (before - after).ShouldBeGreaterThan(150L << 20, $"resident: {before >> 20} MB with the blocks, {freed >> 20} MB after free, {after >> 20} MB after the trim");
    }
}
