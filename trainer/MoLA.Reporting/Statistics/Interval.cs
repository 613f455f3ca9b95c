namespace MoLA.Reporting.Statistics;

/// <summary>A point estimate with the bounds of its two-sided interval.</summary>
public readonly record struct Interval(double Estimate, double Low, double High);
