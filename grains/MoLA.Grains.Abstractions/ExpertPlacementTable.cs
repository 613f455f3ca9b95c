namespace MoLA.Grains;

/// <summary>
/// Which EP rank holds which experts of each layer: Layers[layer][epRank] = expert indices, for one generation.
/// The same JSON shape as `mola launch --placement` (layer -> experts per EP rank).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ExpertPlacementTable([property: Id(0)] int Generation, [property: Id(1)] string Strategy, [property: Id(2)] List<List<List<int>>> Layers);
