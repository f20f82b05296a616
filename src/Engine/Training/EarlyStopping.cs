using SubnetworkEnsembles.Engine.Models;
using static TorchSharp.torch;

namespace SubnetworkEnsembles.Engine.Training;

/// <summary>
/// Early stopping of one training stage: follows the validation values epoch by epoch (<see cref="Observe"/>), keeps a
/// copy of the best epoch's state dict in memory (weights, buffers and masks, on the model's device) when the best
/// weights are to be restored, and puts them back at the end (<see cref="RestoreBest"/>). Its <see cref="Progress"/> and
/// <see cref="BestWeights"/> travel with a training checkpoint, so a resumed stage stops and restores exactly as an uninterrupted one.
/// </summary>
public sealed class EarlyStopping : IDisposable
{
    private readonly EarlyStoppingSettings _settings;
    private Dictionary<string, Tensor>? _best;

    /// <summary>Starts from <paramref name="progress"/> and <paramref name="bestWeights"/> of a resumed stage (owned from here on), or afresh when they are null.</summary>
    public EarlyStopping(EarlyStoppingSettings settings, EarlyStoppingProgress? progress = null, IReadOnlyDictionary<string, Tensor>? bestWeights = null)
    {
        _settings = settings;
        Progress = progress ?? EarlyStoppingProgress.Start;
        _best = bestWeights?.ToDictionary(kv => kv.Key, kv => kv.Value);
    }

    /// <summary>Where it stands.</summary>
    public EarlyStoppingProgress Progress { get; private set; }

    /// <summary>The best evaluated epoch's state dict (restore_best only; null before the first evaluation).</summary>
    public IReadOnlyDictionary<string, Tensor>? BestWeights => _best;

    /// <summary>Whether training has stopped early (a resumed stage that had stopped trains no further).</summary>
    public bool Stopped => Progress.StoppedEpoch is not null;

    /// <summary>
    /// Takes the validation <paramref name="scores"/> of epoch <paramref name="epoch"/> (from 1) of <paramref name="model"/>:
    /// a strictly better value (never NaN) becomes the best (and its weights are copied); otherwise one more evaluation
    /// without improvement. Returns true when patience is used up and epochs remain (<paramref name="lastEpoch"/> false): stop now.
    /// </summary>
    public bool Observe(int epoch, ValidationScores scores, MaskedNetwork model, bool lastEpoch)
    {
        double value = _settings.ValueOf(scores);
        if (!double.IsNaN(value) && (Progress.BestEpoch == 0 || _settings.IsBetter(value, Progress.BestValue)))
        {
            Progress = new EarlyStoppingProgress(epoch, value, 0);
            if (_settings.RestoreBest) Snapshot(model);
            return false;
        }
        int since = Progress.SinceBest + 1;
        bool stop = since >= _settings.Patience && !lastEpoch;
        Progress = Progress with { SinceBest = since, StoppedEpoch = stop ? epoch : null };
        return stop;
    }

    /// <summary>With restore_best and an evaluated epoch: copies that epoch's state dict back into <paramref name="model"/> and records it as restored.</summary>
    public void RestoreBest(MaskedNetwork model)
    {
        if (!_settings.RestoreBest || _best is null) return;
        using (no_grad())
        {
            var mine = model.state_dict();
            foreach (var (name, tensor) in _best) mine[name].copy_(tensor);
        }
        foreach (var l in model.MaskedLayers) l.RefreshMaskState();
        Progress = Progress with { RestoredEpoch = Progress.BestEpoch };
    }

    private void Snapshot(MaskedNetwork model)
    {
        using var _ = no_grad();
        var state = model.state_dict();
        if (_best is null)
        {
            _best = state.ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
            return;
        }
        foreach (var (name, tensor) in state) _best[name].copy_(tensor);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_best is null) return;
        foreach (var t in _best.Values) t.Dispose();
        _best = null;
    }
}
