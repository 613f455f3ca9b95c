// libtorch's default generator and thread pool are process-wide, and one test measures the
// process's resident memory: run this assembly's tests one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
