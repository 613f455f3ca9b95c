namespace MoLA.Model.Analysis;

/// <summary>Why <see cref="HillAlphaEstimator"/> could not produce an alpha.</summary>
public enum HillAlphaError
{
    /// <summary>Fewer than 2 eigenvalues (after the optional threshold filter): no candidate xmin exists.</summary>
    TooFewEigenvalues,

    /// <summary>An eigenvalue is NaN or infinite.</summary>
    NonFinite,

    /// <summary>Zero (or negative, clamped to zero) eigenvalues with the filter off: log(0) has no value.</summary>
    NonPositive,

    /// <summary>All eigenvalues are equal, so the log-histogram has zero width.</summary>
    ConstantSpectrum,

    /// <summary>No candidate xmin in the fix-finger window gave alpha &gt; 1.</summary>
    NoCandidate,

    /// <summary>The best candidate has a constant tail (every larger eigenvalue equals xmin): alpha is infinite.</summary>
    InfiniteAlpha,
}

/// <summary>
/// The spectrum given to <see cref="HillAlphaEstimator"/> has no PL_Alpha_Hill. Derives from
/// <see cref="ArgumentException"/> (parameter <c>eigenvalues</c>); <see cref="Error"/> says why,
/// so callers analysing many matrices can skip or report by kind.
/// </summary>
public sealed class HillAlphaException : ArgumentException
{
    public HillAlphaException(HillAlphaError error, string message)
        : base(message, "eigenvalues")
    {
        Error = error;
    }

    /// <summary>The kind of failure.</summary>
    public HillAlphaError Error { get; }
}

/// <summary>Options of <see cref="HillAlphaEstimator"/>. The defaults match the reference.</summary>
public sealed record HillAlphaOptions
{
    /// <summary>The reference implementation's <c>EVALS_THRESH</c> for its optional zero filter.</summary>
    public const double ReferenceZeroThreshold = 1e-5;

    /// <summary>Reference behaviour: no filter, 100 histogram bins.</summary>
    public static HillAlphaOptions Default { get; } = new();

    /// <summary>
    /// When set, eigenvalues &lt;= this value are removed before fitting (use it for
    /// rank-deficient matrices; <see cref="ReferenceZeroThreshold"/> is the reference's value).
    /// Null (default, as the reference) keeps every value, and then any eigenvalue &lt;= 0 is
    /// an error instead of the reference's crash or NaN. Must be finite and &gt;= 0.
    /// </summary>
    public double? ZeroThreshold { get; init; }

    /// <summary>Histogram bins for the fix-finger peak (reference: 100).</summary>
    public int Bins { get; init; } = 100;
}

/// <summary>Outcome of one PL_Alpha_Hill fit.</summary>
/// <param name="Alpha">PL_Alpha_Hill at the chosen xmin.</param>
/// <param name="Xmin">The eigenvalue chosen as xmin (first argmin of the KS distance).</param>
/// <param name="KsDistance">KS distance D at the chosen xmin.</param>
/// <param name="EigenvaluesUsed">Eigenvalues in the fit (after the optional filter).</param>
/// <param name="EigenvaluesRemoved">Eigenvalues removed by the threshold filter.</param>
/// <param name="XPeak">10^(left edge of the log-histogram's peak bin), the window's anchor.</param>
/// <param name="CandidatesEvaluated">Candidates inside the fix-finger window.</param>
public readonly record struct HillAlphaResult(
    double Alpha,
    double Xmin,
    double KsDistance,
    int EigenvaluesUsed,
    int EigenvaluesRemoved,
    double XPeak,
    int CandidatesEvaluated);
