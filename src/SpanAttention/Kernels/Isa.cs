namespace SpanAttention.Kernels;

/// <summary>
/// Which vector widths the hand-written kernels use. Read once at start-up; the JIT treats these
/// static readonly fields as constants, so the untaken paths cost nothing.
/// </summary>
/// <remarks>
/// The 512-bit path runs where the hardware accelerates it. Setting the environment variable
/// <c>SPANATTENTION_FORCE_VECTOR512=1</c> takes it even where it does not: the runtime then emulates
/// <c>Vector512</c> in software (slowly, but with the same results), which lets CI prove the 512-bit
/// code on a host without AVX-512. <c>DOTNET_EnableAVX512=0</c> and <c>DOTNET_EnableHWIntrinsic=0</c>
/// switch the hardware paths off, so the 256-bit and scalar code are proven the same way.
/// </remarks>
internal static class Isa
{
    /// <summary>Whether kernels take their 512-bit path.</summary>
    public static readonly bool Vector512 =
        System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ||
        Environment.GetEnvironmentVariable("SPANATTENTION_FORCE_VECTOR512") == "1";

    /// <summary>Whether kernels take their 256-bit path.</summary>
    public static readonly bool Vector256 = System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated;

    /// <summary>A short description of the paths in use, for benchmark reports and test logs.</summary>
    public static string Describe() =>
        $"Vector512: {(Vector512 ? (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "hardware" : "forced (software emulation)") : "off")}, " +
        $"Vector256: {(Vector256 ? "hardware" : "off")}";
}
