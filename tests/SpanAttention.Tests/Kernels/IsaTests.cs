using System.Runtime.Intrinsics;
using SpanAttention.Kernels;
using Xunit;

namespace SpanAttention.Tests.Kernels;

/// <summary>CI runs the kernel tests under several ISA switches; this proves each run takes the path it claims to.</summary>
public class IsaTests
{
    [Fact]
    public void Switches_FromEnvironment_SelectTheExpectedPaths()
    {
        bool forced = Environment.GetEnvironmentVariable("SPANATTENTION_FORCE_VECTOR512") == "1";
        Assert.Equal(Vector512.IsHardwareAccelerated || forced, Isa.Vector512);
        if (Environment.GetEnvironmentVariable("DOTNET_EnableHWIntrinsic") == "0")
        {
            Assert.False(Vector256.IsHardwareAccelerated);
            Assert.False(Isa.Vector256);
        }
        if (Environment.GetEnvironmentVariable("DOTNET_EnableAVX512") == "0")
        {
            Assert.False(Vector512.IsHardwareAccelerated);
        }
    }
}
