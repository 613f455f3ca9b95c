// libtorch's generator is process-wide: trainers, pretrainers and seeded initialisation running side by side would
// draw from each other's streams (a determinism test failed that way). One test class at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
