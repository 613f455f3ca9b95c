using System.Text;

namespace MoLA.Cli.Output;

/// <summary>A plain-text table with aligned columns (numbers right-aligned), for human output.</summary>
internal sealed class TextTable
{
    private readonly string[] _headers;
    private readonly bool[] _rightAligned;
    private readonly List<string[]> _rows = [];

    public TextTable(params (string Header, bool RightAligned)[] columns)
    {
        _headers = columns.Select(c => c.Header).ToArray();
        _rightAligned = columns.Select(c => c.RightAligned).ToArray();
    }

    public bool ShowHeader { get; init; } = true;

    public TextTable Add(params string[] cells)
    {
        if (cells.Length != _headers.Length)
            throw new ArgumentException($"row has {cells.Length} cells, the table has {_headers.Length} columns", nameof(cells));
        _rows.Add(cells);
        return this;
    }

    public void Write(TextWriter writer, string indent = "")
    {
        var widths = new int[_headers.Length];
        for (var c = 0; c < widths.Length; c++)
        {
            widths[c] = ShowHeader ? _headers[c].Length : 0;
            foreach (var row in _rows) widths[c] = Math.Max(widths[c], row[c].Length);
        }
        if (ShowHeader)
        {
            WriteRow(writer, indent, _headers, widths);
            writer.WriteLine(indent + string.Join("  ", widths.Select(w => new string('-', w))));
        }
        foreach (var row in _rows) WriteRow(writer, indent, row, widths);
    }

    private void WriteRow(TextWriter writer, string indent, string[] cells, int[] widths)
    {
        var sb = new StringBuilder(indent);
        for (var c = 0; c < cells.Length; c++)
        {
            if (c > 0) sb.Append("  ");
            var last = c == cells.Length - 1;
            if (_rightAligned[c]) sb.Append(cells[c].PadLeft(widths[c]));
            else sb.Append(last ? cells[c] : cells[c].PadRight(widths[c]));
        }
        writer.WriteLine(sb.ToString().TrimEnd());
    }
}
