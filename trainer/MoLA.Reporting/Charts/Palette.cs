namespace MoLA.Reporting.Charts;

/// <summary>Series colours (colour-blind-friendly categorical set) and the heatmap's sequential scale.</summary>
internal static class Palette
{
    private static readonly string[] Categorical =
        ["#4878d0", "#ee854a", "#6acc64", "#d65f5f", "#956cb4", "#8c613c", "#dc7ec0", "#797979", "#d5bb67", "#82c6e2"];

    public static string Series(int i) => Categorical[i % Categorical.Length];

    /// <summary>Beyond ten runs colours repeat; a dash pattern tells the repeats apart.</summary>
    public static string? Dash(int i) => (i / Categorical.Length) switch { 0 => null, 1 => "6 3", _ => "2 2" };

    private static readonly string?[] Patterns = [null, "8 4", "2 3", "12 3 3 3", "5 5", "1 6", "14 5", "6 2 2 2 2 2"];

    /// <summary>
    /// A different dash pattern for each of the first eight series (colour and dash both differ), so curves that
    /// coincide, as configurations of a sweep can, still show each other through the gaps.
    /// </summary>
    public static string? Pattern(int i) => Patterns[i % Patterns.Length];

    // White to dark blue in five stops (perceptually near-uniform steps of lightness).
    private static readonly (double R, double G, double B)[] Stops =
        [(247, 251, 255), (198, 219, 239), (107, 174, 214), (33, 113, 181), (8, 48, 107)];

    /// <summary>The colour of <paramref name="t"/> in [0, 1] (clamped).</summary>
    public static string Sequential(double t)
    {
        t = double.IsFinite(t) ? Math.Clamp(t, 0, 1) : 0;
        var pos = t * (Stops.Length - 1);
        var i = Math.Min((int)pos, Stops.Length - 2);
        var f = pos - i;
        var (a, b) = (Stops[i], Stops[i + 1]);
        return $"rgb({Mix(a.R, b.R, f)},{Mix(a.G, b.G, f)},{Mix(a.B, b.B, f)})";
    }

    public static string SequentialStop(int i) => Sequential(i / (double)(Stops.Length - 1));
    public static int SequentialStops => Stops.Length;

    private static int Mix(double a, double b, double f) => (int)Math.Round(a + (b - a) * f);
}
