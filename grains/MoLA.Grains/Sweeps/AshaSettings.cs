namespace MoLA.Grains.Sweeps;

/// <summary>
/// Asynchronous successive halving: trials are judged at rungs FirstRung · Eta^k &lt; MaxSteps (training steps), each
/// keeping the top 1/Eta of the configurations judged there, and only on at least MinSeeds seeds per configuration.
/// </summary>
public sealed record AshaSettings(long FirstRung, int Eta, int MinSeeds, long MaxSteps)
{
    /// <summary>Throws an <see cref="ArgumentException"/> naming the sweep YAML field that is out of range.</summary>
    public void Validate()
    {
        if (FirstRung < 1) throw new ArgumentException($"asha.first-rung must be >= 1 (a step count), got {FirstRung}", "asha.first-rung");
        if (Eta < 2) throw new ArgumentException($"asha.eta must be >= 2 (each rung keeps the top 1/eta), got {Eta}", "asha.eta");
        if (MinSeeds < 1) throw new ArgumentException($"asha.min-seeds must be >= 1, got {MinSeeds}", "asha.min-seeds");
        if (MaxSteps <= FirstRung)
            throw new ArgumentException($"steps ({MaxSteps}) must be greater than asha.first-rung ({FirstRung}): no rung would come before the end of training", "steps");
    }
}
