using NcclSharp;

namespace NcclSharp.Tests;

/// <summary>The enum values are ABI: each expectation below is copied from nccl.h (NCCL 2.x).</summary>
public class NcclEnumTests
{
    [Theory]
    [InlineData(NcclRedOp.Sum, 0)]
    [InlineData(NcclRedOp.Prod, 1)]
    [InlineData(NcclRedOp.Max, 2)]
    [InlineData(NcclRedOp.Min, 3)]
    [InlineData(NcclRedOp.Avg, 4)]
    public void RedOpValuesMatchNcclH(NcclRedOp op, int expected) => Assert.Equal(expected, (int)op);

    [Theory]
    [InlineData(NcclDataType.Int8, 0, 1)]
    [InlineData(NcclDataType.Uint8, 1, 1)]
    [InlineData(NcclDataType.Int32, 2, 4)]
    [InlineData(NcclDataType.Uint32, 3, 4)]
    [InlineData(NcclDataType.Int64, 4, 8)]
    [InlineData(NcclDataType.Uint64, 5, 8)]
    [InlineData(NcclDataType.Float16, 6, 2)]
    [InlineData(NcclDataType.Float32, 7, 4)]
    [InlineData(NcclDataType.Float64, 8, 8)]
    [InlineData(NcclDataType.BFloat16, 9, 2)]
    public void DataTypeValuesMatchNcclH(NcclDataType type, int expected, int elementSize)
    {
        Assert.Equal(expected, (int)type);
        Assert.Equal(elementSize, type.ElementSize());
    }

    [Theory]
    [InlineData(NcclResult.Success, 0, "ncclSuccess")]
    [InlineData(NcclResult.UnhandledCudaError, 1, "ncclUnhandledCudaError")]
    [InlineData(NcclResult.SystemError, 2, "ncclSystemError")]
    [InlineData(NcclResult.InternalError, 3, "ncclInternalError")]
    [InlineData(NcclResult.InvalidArgument, 4, "ncclInvalidArgument")]
    [InlineData(NcclResult.InvalidUsage, 5, "ncclInvalidUsage")]
    [InlineData(NcclResult.RemoteError, 6, "ncclRemoteError")]
    [InlineData(NcclResult.InProgress, 7, "ncclInProgress")]
    [InlineData(NcclResult.Timeout, 8, "ncclTimeout")]
    public void ResultValuesAndNamesMatchNcclH(NcclResult result, int expected, string name)
    {
        Assert.Equal(expected, (int)result);
        Assert.Equal(name, result.ToNcclName());
    }

    [Fact]
    public void EnumsHaveNoExtraMembers()
    {
        Assert.Equal(5, Enum.GetValues<NcclRedOp>().Length);
        Assert.Equal(10, Enum.GetValues<NcclDataType>().Length);
        Assert.Equal(9, Enum.GetValues<NcclResult>().Length);
    }

    [Fact]
    public void UnknownResultCodesStillGetAName() =>
        Assert.Equal("ncclResult_t(42)", ((NcclResult)42).ToNcclName());

    [Fact]
    public void ElementSizeRejectsUnknownTypes() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ((NcclDataType)99).ElementSize());

    [Theory]
    [InlineData(2708, 2, 7, 8)] // old encoding: X*1000 + Y*100 + Z
    [InlineData(2804, 2, 8, 4)]
    [InlineData(20903, 2, 9, 3)] // from 2.9: X*10000 + Y*100 + Z
    [InlineData(21903, 2, 19, 3)]
    [InlineData(22805, 2, 28, 5)]
    public void DecodesNcclVersionCode(int code, int major, int minor, int patch) =>
        Assert.Equal(new Version(major, minor, patch), Nccl.DecodeVersion(code));
}
