using System.Diagnostics;
using System.Reflection;
using MoLA.Torch;

namespace MoLA.Cli.Diagnostics;

/// <summary>
/// Whether the managed code being measured was compiled with optimisations. A Debug build marks its
/// assemblies <see cref="DebuggableAttribute.IsJITOptimizerDisabled"/>: the JIT then emits
/// unoptimised code and the C# side of any timing is pessimistic.
/// </summary>
internal static class BuildInfo
{
    public static bool IsOptimized(Assembly assembly) =>
        assembly.GetCustomAttribute<DebuggableAttribute>() is not { IsJITOptimizerDisabled: true };

    /// <summary>"Release" when both mola and MoLA.Torch are optimised, otherwise "Debug".</summary>
    public static string Configuration =>
        IsOptimized(typeof(BuildInfo).Assembly) && IsOptimized(typeof(torch).Assembly) ? "Release" : "Debug";

    public const string DebugWarning =
        "this is a Debug build (JIT optimisations off), so C# timings are pessimistic; measure with a Release build: " +
        "dotnet build -c Release trainer/MoLA.Cli/MoLA.Cli.csproj";
}
