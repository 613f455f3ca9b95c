namespace MoLA.Reporting.Page;

/// <summary>
/// The page's inline stylesheet and script. Neither may contain '&lt;' or '&amp;' outside the script's CDATA
/// section: the page must stay well-formed XML. The script only adds hover read-outs and legend toggles; everything
/// it shows is also in &lt;title&gt; tooltips, so the page works without it. When it has run it sets
/// data-script="ready" on the root element (the headless-browser test checks that).
/// </summary>
internal static class PageAssets
{
    public const string Css = """
        body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; max-width: 1120px; margin: 1.5em auto; padding: 0 1em; }
        h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.6em; }
        .meta { color: #666; font-size: 90%; } nav a { margin-right: 1em; }
        svg.chart { max-width: 100%; height: auto; font-family: sans-serif; font-size: 11px; display: block; }
        .grid { stroke: #e6e6e6; } .frame { fill: none; stroke: #999; } .tick-mark { stroke: #999; }
        .tick { fill: #555; } .axis-label { fill: #333; font-size: 12px; }
        path.series { fill: none; stroke-width: 1.8; stroke-linecap: round; stroke-linejoin: round; }
        path.raw { stroke-width: 1; opacity: 0.4; } path.hidden { display: none; }
        .legend-item { cursor: pointer; } .legend-item.off { opacity: 0.3; } .legend text { fill: #333; }
        .cursor { stroke: #888; stroke-dasharray: 3 3; } .readout { fill: #222; font-size: 11px; }
        rect.cell:hover, rect.bar:hover { stroke: #000; stroke-width: 1; }
        figure { margin: 1em 0; } figcaption { color: #555; font-size: 90%; }
        table { border-collapse: collapse; margin: 0.5em 0 1em; } caption { text-align: left; color: #555; padding-bottom: 0.3em; }
        th, td { border-bottom: 1px solid #e2e2e2; padding: 3px 9px; text-align: left; vertical-align: top; }
        thead th { border-bottom: 2px solid #bbb; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        td.best { background: #d9f0d3; font-weight: 600; } tr.overall td { font-weight: 600; } .ci { color: #666; font-weight: normal; font-size: 90%; }
        .note { background: #fff8e1; border-left: 4px solid #f0c36d; padding: 6px 10px; }
        details.config { margin: 0.3em 0; } details.config table { font-size: 90%; }
        """;

    public const string Script = """
        (function () {
          'use strict';
          function numbers(s) { return s ? s.split(',').map(Number) : []; }
          function nearest(xs, x) {
            var lo = 0, hi = xs.length - 1;
            if (hi < 0) return -1;
            while (lo < hi) { var mid = (lo + hi) >> 1; if (xs[mid] < x) lo = mid + 1; else hi = mid; }
            if (lo > 0 && Math.abs(xs[lo - 1] - x) <= Math.abs(xs[lo] - x)) lo--;
            return lo;
          }
          function fmt(v) { return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : String(+v.toPrecision(4)); }
          Array.prototype.forEach.call(document.querySelectorAll('svg.line-chart'), function (svg) {
            var x0 = +svg.dataset.x0, x1 = +svg.dataset.x1, px0 = +svg.dataset.px0, px1 = +svg.dataset.px1;
            var series = Array.prototype.map.call(svg.querySelectorAll('path.series'), function (p) {
              return { el: p, xs: numbers(p.dataset.x), ys: numbers(p.dataset.y) };
            });
            var cursor = svg.querySelector('line.cursor'), readout = svg.querySelector('text.readout');
            function hide() { cursor.setAttribute('visibility', 'hidden'); readout.textContent = ''; }
            svg.addEventListener('mousemove', function (ev) {
              var m = svg.getScreenCTM();
              if (!m) return;
              var pt = svg.createSVGPoint(); pt.x = ev.clientX; pt.y = ev.clientY;
              var p = pt.matrixTransform(m.inverse());
              if (p.x < px0 || p.x > px1) { hide(); return; }
              var x = x0 + (p.x - px0) / (px1 - px0) * (x1 - x0), at = null, parts = [];
              series.forEach(function (s) {
                if (s.el.classList.contains('hidden')) return;
                var i = nearest(s.xs, x);
                if (i < 0 || !isFinite(s.ys[i])) return;
                if (at === null) at = s.xs[i];
                parts.push(s.el.dataset.name + ' ' + fmt(s.ys[i]));
              });
              if (at === null) { hide(); return; }
              var cx = px0 + (at - x0) / (x1 - x0) * (px1 - px0);
              cursor.setAttribute('x1', cx); cursor.setAttribute('x2', cx); cursor.setAttribute('visibility', 'visible');
              readout.textContent = svg.dataset.xlabel + ' ' + at + ': ' + parts.join('; ');
            });
            svg.addEventListener('mouseleave', hide);
            Array.prototype.forEach.call(svg.querySelectorAll('g.legend-item'), function (item) {
              item.addEventListener('click', function () {
                var off = !item.classList.contains('off');
                item.classList.toggle('off', off);
                series.forEach(function (s) { if (s.el.dataset.series === item.dataset.series) s.el.classList.toggle('hidden', off); });
              });
            });
          });
          document.documentElement.setAttribute('data-script', 'ready');
        })();
        """;
}
