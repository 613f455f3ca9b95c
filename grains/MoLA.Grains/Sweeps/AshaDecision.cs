namespace MoLA.Grains.Sweeps;

/// <summary>Stop every trial of <paramref name="Configuration"/>: it fell below the cutoff at <paramref name="Rung"/>.</summary>
public sealed record AshaDecision(string Configuration, long Rung, string Reason);
