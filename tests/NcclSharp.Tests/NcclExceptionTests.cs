using NcclSharp;

namespace NcclSharp.Tests;

public class NcclExceptionTests
{
    [Fact]
    public void MessageNamesFunctionCodeAndNcclTexts()
    {
        var ex = NcclException.FromResult(
            "ncclAllReduce", NcclResult.InvalidArgument, "invalid argument (run with NCCL_DEBUG=WARN for details)", "AllReduce : invalid type 99");

        Assert.Equal("ncclAllReduce", ex.Function);
        Assert.Equal(NcclResult.InvalidArgument, ex.Result);
        Assert.StartsWith("ncclAllReduce failed: ncclInvalidArgument (4)", ex.Message);
        Assert.Contains("invalid argument (run with NCCL_DEBUG=WARN for details)", ex.Message);
        Assert.Contains("NCCL last error: AllReduce : invalid type 99", ex.Message);
    }

    [Fact]
    public void MissingTextsAreLeftOut()
    {
        var ex = NcclException.FromResult("ncclGroupEnd", NcclResult.RemoteError, null, "  ");

        Assert.Equal("ncclGroupEnd failed: ncclRemoteError (6)", ex.Message);
    }
}
