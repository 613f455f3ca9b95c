namespace MoLA.Model.Allocation;

/// <summary>
/// An allocation input (shape string, per-layer list, budget, alphas) is invalid.
/// Derives from <see cref="ArgumentException"/> so callers that validate user input
/// generically still catch it; <see cref="ArgumentException.ParamName"/> is the field at
/// fault (e.g. <c>shape</c>, <c>topK</c>, <c>budget</c>) and the message names the position.
/// </summary>
public sealed class AllocationException : ArgumentException
{
    private readonly string _message;

    public AllocationException(string field, string message)
        : base(message, field)
    {
        _message = message;
    }

    /// <summary>The message alone: ArgumentException would append "(Parameter 'field')", which users should not see.</summary>
    public override string Message => _message;

    /// <summary>The input field at fault (same as <see cref="ArgumentException.ParamName"/>).</summary>
    public string Field => ParamName ?? string.Empty;
}
