using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace MoLA.Reporting.Tests;

/// <summary>The report page parsed as XML (it is written as an HTML/XML polyglot), with finders for its parts.</summary>
internal sealed class PageXml
{
    public static readonly XNamespace XHtml = "http://www.w3.org/1999/xhtml";
    public static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    public PageXml(string html)
    {
        Html = html;
        using var reader = XmlReader.Create(new StringReader(html), new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore });
        Doc = XDocument.Load(reader); // throws on anything not well-formed, e.g. an unescaped name
    }

    public string Html { get; }
    public XDocument Doc { get; }

    public IEnumerable<XElement> Charts => Doc.Descendants(Svg + "svg");
    public IReadOnlyList<XElement> ChartsOf(string kind) => Charts.Where(s => (string?)s.Attribute("data-chart") == kind).ToList();
    public XElement Chart(string kind) => Assert.Single(ChartsOf(kind));

    public static IEnumerable<XElement> WithClass(XElement root, XName name, string cls) =>
        root.Descendants(name).Where(e => ((string?)e.Attribute("class") ?? "").Split(' ').Contains(cls));

    public IEnumerable<XElement> WithClass(XName name, string cls) => WithClass(Doc.Root!, name, cls);

    public static double[] Numbers(XElement e, string attribute) =>
        ((string?)e.Attribute(attribute) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries)
        .Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();

    public XElement Table(string kind) => Assert.Single(Doc.Descendants(XHtml + "table"), t => (string?)t.Attribute("data-table") == kind);
}
