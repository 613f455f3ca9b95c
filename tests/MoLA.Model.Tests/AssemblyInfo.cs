// libtorch's default generator and thread pool are process-wide: run this assembly's tests one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
