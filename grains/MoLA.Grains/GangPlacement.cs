namespace MoLA.Grains;

/// <summary>A node's free device slots of the kind a job needs, and its rendezvous ports still free.</summary>
public sealed record NodeCapacity(string Node, string Address, IReadOnlyList<int> FreeSlots, IReadOnlyList<int> FreePorts);

/// <summary>
/// Gang placement: all ranks of a job or none. Ranks go on as few nodes as possible: the smallest node that holds the
/// whole job (best fit), else the nodes with the most free slots first. Ranks are numbered node by node, so the ranks
/// of one node are contiguous (local ranks 0..n-1) and rank 0's node serves the rendezvous.
/// </summary>
public static class GangPlacement
{
    public static List<RankAssignment>? Place(string jobId, int generation, JobSpec spec, IEnumerable<NodeCapacity> nodes)
    {
        var world = spec.WorldSize;
        var usable = nodes.Where(n => n.FreeSlots.Count > 0).ToList();
        if (usable.Sum(n => n.FreeSlots.Count) < world) return null;
        var single = usable.Where(n => n.FreeSlots.Count >= world && n.FreePorts.Count > 0)
            .OrderBy(n => n.FreeSlots.Count).ThenBy(n => n.Node, StringComparer.Ordinal).FirstOrDefault();
        List<(NodeCapacity Node, int Count)> chosen;
        if (single is not null)
        {
            chosen = [(single, world)];
        }
        else
        {
            chosen = [];
            var left = world;
            // The first node serves the rendezvous, so it must have a free port.
            var ordered = usable.OrderByDescending(n => n.FreePorts.Count > 0).ThenByDescending(n => n.FreeSlots.Count)
                .ThenBy(n => n.Node, StringComparer.Ordinal);
            foreach (var n in ordered)
            {
                if (left == 0) break;
                var take = Math.Min(left, n.FreeSlots.Count);
                chosen.Add((n, take));
                left -= take;
            }
            if (left > 0 || chosen[0].Node.FreePorts.Count == 0) return null;
        }
        var head = chosen[0].Node;
        var rendezvous = new RendezvousEndpoint(head.Address, head.FreePorts[0]);
        var result = new List<RankAssignment>(world);
        foreach (var (node, count) in chosen)
            for (var local = 0; local < count; local++)
                result.Add(new RankAssignment
                {
                    JobId = jobId,
                    Generation = generation,
                    Rank = result.Count,
                    LocalRank = local,
                    Node = node.Node,
                    Slot = node.FreeSlots[local],
                    Rendezvous = rendezvous,
                    Spec = spec,
                });
        return result;
    }
}
