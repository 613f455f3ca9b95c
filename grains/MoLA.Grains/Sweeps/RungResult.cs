namespace MoLA.Grains.Sweeps;

/// <summary>One seed of one configuration evaluated at a rung's step (higher metric = better).</summary>
public sealed record RungResult(string Configuration, int Seed, long Step, double Metric);
