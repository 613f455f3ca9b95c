namespace MoLA.Grains;

/// <summary>
/// One evaluation a job's rank 0 reported (at an eval-every or eval-at step, and at the end): accuracy on the whole
/// evaluation set per format ("generation", "multiple_choice"), what a sweep's scheduler compares trials on.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record JobEvaluation(
    [property: Id(0)] long Step,
    [property: Id(1)] Dictionary<string, double> Accuracy,
    [property: Id(2)] DateTime At);
