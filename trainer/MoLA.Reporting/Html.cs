using System.Globalization;
using System.Text;

namespace MoLA.Reporting;

/// <summary>
/// Escaping and number formatting for the page. The page is well-formed XML as well as HTML (a polyglot), so only
/// the five XML entities are ever written: names from run files (which may hold anything, "&lt;script&gt;" included)
/// go through <see cref="Esc"/> in text and attributes alike.
/// </summary>
internal static class Html
{
    public static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Esc(string? s)
    {
        if (string.IsNullOrEmpty(s)) return "";
        var sb = new StringBuilder(s.Length + 8);
        foreach (var c in s)
        {
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                case '\'': sb.Append("&#39;"); break;
                // Control characters are not allowed in XML 1.0; show them rather than break the page.
                case < ' ' and not ('\t' or '\n' or '\r'): sb.Append('\uFFFD'); break;
                default: sb.Append(c); break;
            }
        }
        return sb.ToString();
    }

    /// <summary>Coordinates: two decimals are below a pixel's resolution and keep the page small.</summary>
    public static string Px(double v) => v.ToString("0.##", Inv);

    /// <summary>A value for a label or tooltip: 4 significant digits, "n/a" for NaN/infinity.</summary>
    public static string Num(double v) => double.IsFinite(v) ? v.ToString("G4", Inv) : "n/a";

    public static string Int(long v) => v.ToString("N0", Inv);

    /// <summary>A fraction as a percentage with one decimal.</summary>
    public static string Pct(double fraction) => double.IsFinite(fraction) ? (fraction * 100).ToString("0.0", Inv) + "%" : "n/a";

    /// <summary>Round-trip-ish compact form for data-* attributes that the hover script reads.</summary>
    public static string Data(double v) => double.IsFinite(v) ? v.ToString("G6", Inv) : "NaN";
}
