// The CLI's commands time matrix products and small ops: running test classes side by side would
// make them measure each other. One at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
