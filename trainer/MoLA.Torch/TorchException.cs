namespace MoLA.Torch;

/// <summary>A libtorch operation failed; the message names the op and its inputs' shapes and dtypes.</summary>
public sealed class TorchException(string message) : Exception(message)
{
}
