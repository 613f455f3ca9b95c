using System.Globalization;

namespace MoLA.Cli.Output;

internal static class Format
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Ns(double? ns) => ns is null ? "-" : ns.Value >= 100 ? ns.Value.ToString("N0", Inv) : ns.Value.ToString("0.0", Inv);
    public static string Ratio(double? r) => r is null ? "-" : r.Value.ToString("0.00", Inv);
    public static string Gflops(double? g) => g is null ? "-" : g.Value.ToString("0.0", Inv);
    public static string Number(double v, string format = "0.##") => v.ToString(format, Inv);
    public static string YesNo(bool b) => b ? "yes" : "no";
}
