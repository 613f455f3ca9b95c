namespace MoLA.Reporting.Statistics;

/// <summary>The check every interval shares: a confidence level strictly between 0 and 1.</summary>
internal static class Confidence
{
    public static void Validate(double confidence)
    {
        if (!(confidence > 0 && confidence < 1))
            throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "confidence must be in (0, 1), e.g. 0.95");
    }
}
