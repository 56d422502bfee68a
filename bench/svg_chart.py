"""A tiny grouped bar chart writer (SVG), so the benchmark plots need no plotting library.

bar_chart(path, title, groups, series, values, ylabel) writes one SVG file: `groups` along the x
axis (kernels), one bar per entry of `series` (systems or versions) in each group, heights from
values[series][group] (None: no bar). A dashed line marks `ref` (for ratios: 1.0) if given.
"""
from xml.sax.saxutils import escape

COLOURS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"]


def bar_chart(path, title, groups, series, values, ylabel, ref=None):
    width, height = max(480, 90 * len(groups) + 140), 360
    left, right, top, bottom = 70, 20, 40, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = max([v for s in series for v in values[s].values() if v is not None] + [ref or 0, 1e-9])
    top_value *= 1.1

    def y(v):
        return top + plot_h - plot_h * v / top_value

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>',
           f'<text transform="translate(16,{top + plot_h / 2}) rotate(-90)" text-anchor="middle">'
           f'{escape(ylabel)}</text>']
    for i in range(6):  # horizontal grid with labels
        v = top_value * i / 5
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.3g}</text>')
    group_w = plot_w / max(1, len(groups))
    bar_w = group_w * 0.8 / max(1, len(series))
    for gi, g in enumerate(groups):
        x0 = left + gi * group_w + group_w * 0.1
        for si, s in enumerate(series):
            v = values[s].get(g)
            if v is None:
                continue
            x = x0 + si * bar_w
            out.append(f'<rect x="{x:.1f}" y="{y(v):.1f}" width="{bar_w - 2:.1f}" '
                       f'height="{top + plot_h - y(v):.1f}" fill="{COLOURS[si % len(COLOURS)]}">'
                       f'<title>{escape(f"{g} {s}: {v:.3g}")}</title></rect>')
        out.append(f'<text x="{x0 + group_w * 0.4:.1f}" y="{top + plot_h + 16}" '
                   f'text-anchor="middle">{escape(g)}</text>')
    if ref is not None:
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(ref):.1f}" y2="{y(ref):.1f}" '
                   f'stroke="black" stroke-dasharray="4 3"/>')
    for si, s in enumerate(series):  # legend
        lx = left + si * 110
        out.append(f'<rect x="{lx}" y="{height - 24}" width="12" height="12" '
                   f'fill="{COLOURS[si % len(COLOURS)]}"/>')
        out.append(f'<text x="{lx + 16}" y="{height - 14}">{escape(s)}</text>')
    out.append('</svg>')
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
