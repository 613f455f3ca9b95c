using System.Globalization;
using System.Text;
using OpenTelemetry.Metrics;

namespace MoLA.Telemetry;

/// <summary>
/// Renders OpenTelemetry metrics as Prometheus text exposition format 0.0.4, naming them the way
/// OpenTelemetry's Prometheus exporter does: sanitised name, unit suffix appended unless already present,
/// <c>_total</c> on monotonic sums. Exponential histograms are not rendered.
/// </summary>
public static class PrometheusText
{
    /// <summary>The HTTP content type of the format.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Appends one metric (HELP, TYPE and its samples) to <paramref name="sb"/>.</summary>
    public static void WriteMetric(StringBuilder sb, Metric metric)
    {
        ArgumentNullException.ThrowIfNull(sb);
        ArgumentNullException.ThrowIfNull(metric);
        string? type = metric.MetricType switch
        {
            MetricType.LongSum or MetricType.DoubleSum => "counter",
            MetricType.LongSumNonMonotonic or MetricType.DoubleSumNonMonotonic => "gauge",
            MetricType.LongGauge or MetricType.DoubleGauge => "gauge",
            MetricType.Histogram => "histogram",
            _ => null,
        };
        if (type is null) return;
        string name = MetricName(metric.Name, metric.Unit, type);

        if (!string.IsNullOrEmpty(metric.Description))
            sb.Append("# HELP ").Append(name).Append(' ').Append(EscapeHelp(metric.Description)).Append('\n');
        sb.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

        foreach (ref readonly var point in metric.GetMetricPoints())
        {
            string labels = Labels(point, null);
            switch (metric.MetricType)
            {
                case MetricType.LongSum:
                case MetricType.LongSumNonMonotonic:
                    Sample(sb, name, labels, point.GetSumLong().ToString(CultureInfo.InvariantCulture));
                    break;
                case MetricType.DoubleSum:
                case MetricType.DoubleSumNonMonotonic:
                    Sample(sb, name, labels, FormatDouble(point.GetSumDouble()));
                    break;
                case MetricType.LongGauge:
                    Sample(sb, name, labels, point.GetGaugeLastValueLong().ToString(CultureInfo.InvariantCulture));
                    break;
                case MetricType.DoubleGauge:
                    Sample(sb, name, labels, FormatDouble(point.GetGaugeLastValueDouble()));
                    break;
                case MetricType.Histogram:
                    long cumulative = 0;
                    bool sawInf = false;
                    foreach (var bucket in point.GetHistogramBuckets())
                    {
                        cumulative += bucket.BucketCount;
                        sawInf |= double.IsPositiveInfinity(bucket.ExplicitBound);
                        Sample(sb, name + "_bucket", Labels(point, FormatDouble(bucket.ExplicitBound)),
                            cumulative.ToString(CultureInfo.InvariantCulture));
                    }
                    long count = point.GetHistogramCount();
                    if (!sawInf)
                        Sample(sb, name + "_bucket", Labels(point, "+Inf"), count.ToString(CultureInfo.InvariantCulture));
                    Sample(sb, name + "_sum", labels, FormatDouble(point.GetHistogramSum()));
                    Sample(sb, name + "_count", labels, count.ToString(CultureInfo.InvariantCulture));
                    break;
            }
        }
    }

    /// <summary>
    /// The Prometheus name of an instrument: <paramref name="name"/> sanitised, the unit's Prometheus word appended
    /// unless the name already ends with it, and <c>_total</c> for counters (moved to the end if already present).
    /// </summary>
    public static string MetricName(string name, string? unit, string prometheusType)
    {
        string result = SanitizeMetricName(name);
        bool counter = prometheusType == "counter";
        if (counter && result.EndsWith("_total", StringComparison.Ordinal) && result.Length > "_total".Length)
            result = result[..^"_total".Length];
        string unitWord = UnitSuffix(unit, prometheusType);
        if (unitWord.Length > 0 && !result.EndsWith(unitWord, StringComparison.Ordinal))
            result += "_" + unitWord;
        if (counter) result += "_total";
        return result;
    }

    /// <summary>Replaces characters outside <c>[a-zA-Z0-9_:]</c> with '_', collapses runs of '_', and prefixes a leading digit.</summary>
    public static string SanitizeMetricName(string name) => Sanitize(name, allowColon: true);

    /// <summary>Like <see cref="SanitizeMetricName"/> without ':' (label names).</summary>
    public static string SanitizeLabelName(string name) => Sanitize(name, allowColon: false);

    /// <summary>The Prometheus word for a UCUM unit ("s" → "seconds", "By" → "bytes", "1" → "ratio" on gauges, "x/y" → "x_per_y"); annotations in braces are dropped.</summary>
    public static string UnitSuffix(string? unit, string prometheusType)
    {
        if (string.IsNullOrWhiteSpace(unit)) return "";
        var sb = new StringBuilder();
        int depth = 0;
        foreach (char c in unit)
        {
            if (c == '{') depth++;
            else if (c == '}') depth = Math.Max(0, depth - 1);
            else if (depth == 0) sb.Append(c);
        }
        string u = sb.ToString().Trim();
        if (u.Length == 0) return "";
        if (u == "1") return prometheusType == "gauge" ? "ratio" : "";
        int slash = u.IndexOf('/', StringComparison.Ordinal);
        string word;
        if (slash < 0)
        {
            word = UnitWord(u);
        }
        else
        {
            string num = UnitWord(u[..slash]);
            string den = PerWord(u[(slash + 1)..]);
            word = den.Length == 0 ? num : num.Length == 0 ? "per_" + den : num + "_per_" + den;
        }
        return Sanitize(word, allowColon: false).Trim('_');
    }

    private static string UnitWord(string u) => u switch
    {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" or "B" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" or "KB" => "kilobytes",
        "MBy" or "MB" => "megabytes",
        "GBy" or "GB" => "gigabytes",
        "TBy" or "TB" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "%" => "percent",
        "$" => "dollars",
        "1" => "",
        _ => u,
    };

    private static string PerWord(string u) => u switch
    {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        _ => UnitWord(u),
    };

    /// <summary>Escapes a label value: backslash, double quote and newline.</summary>
    public static string EscapeLabelValue(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal)
             .Replace("\"", "\\\"", StringComparison.Ordinal)
             .Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>Escapes HELP text: backslash and newline.</summary>
    public static string EscapeHelp(string text) =>
        text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>Formats a sample value: shortest round-trip, "+Inf", "-Inf", "NaN".</summary>
    public static string FormatDouble(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);

    private static void Sample(StringBuilder sb, string name, string labels, string value) =>
        sb.Append(name).Append(labels).Append(' ').Append(value).Append('\n');

    private static string Labels(in MetricPoint point, string? le)
    {
        var sb = new StringBuilder();
        foreach (var tag in point.Tags)
        {
            sb.Append(sb.Length == 0 ? "{" : ",");
            string value = tag.Value switch
            {
                null => "",
                bool b => b ? "true" : "false",
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                var o => o.ToString() ?? "",
            };
            sb.Append(SanitizeLabelName(tag.Key)).Append("=\"").Append(EscapeLabelValue(value)).Append('"');
        }
        if (le is not null)
            sb.Append(sb.Length == 0 ? "{" : ",").Append("le=\"").Append(le).Append('"');
        if (sb.Length > 0) sb.Append('}');
        return sb.ToString();
    }

    private static string Sanitize(string name, bool allowColon)
    {
        var sb = new StringBuilder(name.Length + 1);
        foreach (char c in name)
        {
            bool ok = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' || (allowColon && c == ':');
            char o = ok ? c : '_';
            if (o == '_' && sb.Length > 0 && sb[^1] == '_') continue;
            sb.Append(o);
        }
        if (sb.Length == 0) return "_";
        if (char.IsAsciiDigit(sb[0])) sb.Insert(0, '_');
        return sb.ToString();
    }
}
