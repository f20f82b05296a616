namespace SubnetworkEnsembles.Experiments;

/// <summary>
/// Checks where a command will write before it computes anything, so an output path that cannot work (a directory
/// where a file is expected, a folder below a regular file) is one usage error (exit 2) naming the
/// option and the path, and nothing is written.
/// </summary>
public static class OutputPaths
{
    /// <summary>
    /// <paramref name="path"/> (from option <paramref name="option"/>) as an absolute path of a file that can be written:
    /// not a directory, and below a directory that exists or can be created. Creates nothing.
    /// </summary>
    public static string CheckFile(string path, string option)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new UsageException($"{option} {full} is a directory, expected a file to write");
        CheckAncestors(Path.GetDirectoryName(full)!, option, full);
        return full;
    }

    /// <summary><paramref name="path"/> as an absolute path of a directory that exists or can be created (not a file, not below one). Creates nothing.</summary>
    public static string CheckDirectory(string path, string option)
    {
        string full = Path.GetFullPath(path);
        if (File.Exists(full)) throw new UsageException($"{option} {full} is a file, expected a directory");
        CheckAncestors(full, option, full);
        return full;
    }

    /// <summary>Creates the folder that will hold <paramref name="file"/>; a folder that cannot be made is a usage error naming <paramref name="option"/>.</summary>
    public static void CreateParent(string file, string option)
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(file))!;
        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{option} {file}: cannot create the folder {folder} ({e.Message})");
        }
    }

    /// <summary>The nearest existing ancestor of <paramref name="folder"/> (itself included) must be a directory.</summary>
    private static void CheckAncestors(string folder, string option, string full)
    {
        var existing = folder;
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing)) throw new UsageException($"{option} {full}: {existing} is a file, expected a directory");
            existing = Path.GetDirectoryName(existing);
            if (existing is null) return;
        }
    }
}
