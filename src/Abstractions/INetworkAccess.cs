using static TorchSharp.torch;

namespace SubnetworkEnsembles.Abstractions;

/// <summary>
/// A batch of rows of a split: <see cref="Inputs"/> [B, …sample shape] float32 (normalised as the run trains on them,
/// never augmented) and <see cref="Labels"/> int64 [B], both on the network's device. Owned by the caller.
/// </summary>
public sealed record LabeledBatch(Tensor Inputs, Tensor Labels) : IDisposable
{
    /// <summary>Rows in the batch (B).</summary>
    public long Count => Labels.shape[0];

    /// <inheritdoc />
    public void Dispose()
    {
        Inputs.Dispose();
        Labels.Dispose();
    }
}

/// <summary>
/// What a data-aware ϕ or ξ may see of the network it works on and of the run's data (SNIP, GraSP, SynFlow, Fisher
/// pruning, RigL's regrowth): the network itself, seeded batches of the training and validation splits, and gradients
/// of any scalar objective with respect to the weights the masked layers compute with.
/// <para>
/// For a sampler (<see cref="SamplingContext"/>) the network is the trained parent; for a perturbation
/// (<see cref="PerturbationContext.Network"/>) it is the child being made. Every method leaves the network as it found
/// it: weights, masks, gradients (<c>.grad</c>) and training/evaluation mode. Batches are drawn only from the generator
/// passed in, so a plugin that uses its own generator stays reproducible and any child can be regenerated alone.
/// </para>
/// </summary>
public interface INetworkAccess
{
    /// <summary>
    /// The network: input [N, …<see cref="InputShape"/>] → logits [N, <see cref="Classes"/>], computing every masked
    /// layer with W ⊙ M. Read it (e.g. <c>named_parameters()</c>); change it only through <see cref="Weights"/> in ξ.
    /// </summary>
    nn.Module<Tensor, Tensor> Network { get; }

    /// <summary>The maskable weights ϕ/ξ act on (the run's selection: maskable globs and the output-layer switch), in layer order.</summary>
    IReadOnlyList<IMaskableWeight> Weights { get; }

    /// <summary>Shape of one sample, e.g. [1, 28, 28] or [2].</summary>
    long[] InputShape { get; }

    /// <summary>Number of classes C.</summary>
    int Classes { get; }

    /// <summary>The device of the network, of the batches and of the gradients returned.</summary>
    Device Device { get; }

    /// <summary>Rows in the training split.</summary>
    long TrainingRows { get; }

    /// <summary>Rows in the validation split (0 when the run has none).</summary>
    long ValidationRows { get; }

    /// <summary>
    /// <paramref name="size"/> training rows drawn without replacement by <paramref name="generator"/> (all rows when the
    /// split is smaller). Inputs are as training sees them before augmentation.
    /// </summary>
    LabeledBatch TrainingBatch(int size, Generator generator);

    /// <summary>As <see cref="TrainingBatch"/> from the validation split; throws <see cref="InvalidOperationException"/> when it has no rows.</summary>
    LabeledBatch ValidationBatch(int size, Generator generator);

    /// <summary>
    /// ∂f/∂Ŵ for every weight of <see cref="Weights"/>, by name: the gradient of the scalar <paramref name="objective"/>
    /// (called with the network, e.g. <c>n =&gt; cross_entropy(n.call(x), y)</c>) with respect to the weight Ŵ each masked
    /// layer computes with — W ⊙ M, or <paramref name="weightsInUse"/>[name] where given (SynFlow computes with |W|).
    /// Because the gradient is taken at Ŵ, masked-out entries get their would-be gradient too (RigL regrows by it;
    /// SNIP's connection sensitivity is |Ŵ ⊙ ∂L/∂Ŵ|). Evaluated in evaluation mode (BatchNorm running statistics, no
    /// dropout, no stochastic masks). Each tensor has its weight's shape, on <see cref="Device"/>, owned by the caller.
    /// </summary>
    IReadOnlyDictionary<string, Tensor> Gradients(Func<nn.Module<Tensor, Tensor>, Tensor> objective,
        IReadOnlyDictionary<string, Tensor>? weightsInUse = null);

    /// <summary>∂L/∂Ŵ of the mean cross-entropy L on <paramref name="batch"/> (see <see cref="Gradients"/>).</summary>
    IReadOnlyDictionary<string, Tensor> LossGradients(LabeledBatch batch);

    /// <summary>
    /// The Hessian-vector product H v, by weight name, where H = ∂²L/∂Ŵ² is the Hessian of the mean cross-entropy on
    /// <paramref name="batch"/> with respect to the weights of <see cref="Weights"/> (jointly) and v is
    /// <paramref name="vectors"/> (one tensor of each weight's shape; a missing name counts as zeros). Computed by
    /// double back-propagation: ∂/∂Ŵ (∂L/∂Ŵ · v). GraSP scores with −Ŵ ⊙ H g.
    /// </summary>
    IReadOnlyDictionary<string, Tensor> HessianVectorProduct(LabeledBatch batch, IReadOnlyDictionary<string, Tensor> vectors);
}

/// <summary>
/// What the host passes to <see cref="ISubnetworkSampler.SampleSet(IReadOnlyList{IMaskableWeight}, Generator, SamplingContext)"/>:
/// the trained parent with the run's data and gradients (<see cref="Network"/>), and which set is being drawn.
/// </summary>
/// <param name="Network">The parent network, its data and gradients.</param>
/// <param name="SetIndex">The set being drawn (children <c>SetIndex · SetSize</c> … <c>+ SetSize − 1</c>).</param>
/// <param name="RunSeed">The run's seed.</param>
public sealed record SamplingContext(INetworkAccess Network, int SetIndex, long RunSeed);
