using Shouldly;
using SubnetworkEnsembles.Experiments.Pipeline;
using Xunit;

namespace SubnetworkEnsembles.Tests;

/// <summary>
/// <see cref="RunDirectory.WriteDirectoryAtomic"/>: the TensorBoard folder of a run is rewritten by every gather, and two
/// gathers of one run may run at once (Slurm requeues, a user re-running the ensemble stage).
/// </summary>
public class AtomicDirectoryTests
{
    [Trait("Category", "unit")]
    [Fact]
    public void A_rewritten_directory_replaces_the_old_one_whole()
    {
        using var dir = new TempDir();
        string target = Path.Combine(dir.Path, "board");
        Directory.CreateDirectory(Path.Combine(target, "stale"));
        File.WriteAllText(Path.Combine(target, "stale", "old.txt"), "old");

        RunDirectory.WriteDirectoryAtomic(target, d => File.WriteAllText(Path.Combine(d, "new.txt"), "new"));

        Directory.GetFileSystemEntries(target).Select(Path.GetFileName).ShouldBe(["new.txt"]);
        File.ReadAllText(Path.Combine(target, "new.txt")).ShouldBe("new");
        Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).ShouldBe(["board"], "no staging or moved-aside folders are left");
    }

    [Trait("Category", "unit")]
    [Fact]
    public void Writers_at_once_never_delete_each_others_files_and_one_complete_set_ends_in_place()
    {
        using var dir = new TempDir();
        string target = Path.Combine(dir.Path, "board");
        const int writers = 8, files = 30;
        var failures = new System.Collections.Concurrent.ConcurrentBag<Exception>();
        var threads = Enumerable.Range(0, writers).Select(w => new Thread(() =>
        {
            try
            {
                for (int round = 0; round < 5; round++)
                    RunDirectory.WriteDirectoryAtomic(target, d =>
                    {
                        for (int f = 0; f < files; f++)
                        {
                            string sub = Path.Combine(d, $"tag-{f % 3}");
                            Directory.CreateDirectory(sub);
                            File.WriteAllText(Path.Combine(sub, $"events-{f}"), $"writer {w}");
                        }
                    });
            }
            catch (Exception e) { failures.Add(e); }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        failures.ShouldBeEmpty();
        var written = Directory.GetFiles(target, "*", SearchOption.AllDirectories);
        written.Length.ShouldBe(files);
        written.Select(File.ReadAllText).Distinct().Count().ShouldBe(1, "the files in place come from one writer");
        Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).ShouldBe(["board"]);
    }
}
