"""The plots of ``hybridsolve bench --plot FILE``: for every area, time against n
(log-log) for hybridsolve and each reference with the growth-rate guide line, and one
panel of speed-up bars (every reference at each area's largest size).  Needs matplotlib.
"""
from __future__ import annotations

import math

from hybridsolve._bench import AREAS, GUIDES, OURS, rows

_STYLE = {OURS: dict(color="C0", marker="o", lw=2),
          "scipy.linalg.solve": dict(color="C1", marker="s"),
          "scipy.sparse.linalg.spsolve": dict(color="C1", marker="s"),
          "numpy.linalg.solve": dict(color="C2", marker="^")}


def plot(results, out, fmt=None):
    """Draw the figure and save it to ``out`` (a path or a binary file object; the
    format is ``fmt`` or the path's suffix)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = results["records"]
    areas = [a for a in AREAS if any(r["area"] == a for r in recs)]
    panels = len(areas) + 1
    cols = min(3, panels)
    nrows = math.ceil(panels / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.6 * cols, 3.6 * nrows),
                             squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax, area in zip(flat, areas):
        _time_panel(ax, area, [r for r in recs if r["area"] == area])
    _speedup_panel(flat[len(areas)], results)
    for ax in flat[panels:]:
        ax.set_visible(False)
    meta = results["meta"]
    fig.suptitle(f"{meta['command']} -- {meta['date']} "
                 f"(medians; shaded: run-to-run range of hybridsolve)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, format=fmt, dpi=80)
    plt.close(fig)


def _time_panel(ax, area, recs):
    from matplotlib.ticker import NullFormatter

    batched = area == "batched"
    key = "batch" if batched else "n"
    names = list(dict.fromkeys(r["contender"] for r in recs))
    for name in names:
        rs = sorted((r for r in recs if r["contender"] == name), key=lambda r: r[key])
        xs = [r[key] for r in rs]
        ys = [r["seconds"] for r in rs]
        style = _STYLE.get(name, {})
        if name == OURS:
            road = "/".join(dict.fromkeys(r["road"] for r in rs))
            label = f"hybridsolve ({road})"
            ax.fill_between(xs, [r["min"] for r in rs], [r["max"] for r in rs],
                            color="C0", alpha=0.2, lw=0)
        else:
            label = name
        ax.plot(xs, ys, label=label, ms=4, **style)
    power, guide = GUIDES[area]
    ours = sorted((r for r in recs if r["contender"] == OURS), key=lambda r: r[key])
    if power is not None and ours:
        x0, y0 = ours[-1][key], ours[-1]["seconds"]
        xmin = ours[0][key]
        xs = [xmin, x0]     # (sparse: the 5-point stencil's nnz grows like n)
        ax.plot(xs, [y0 * (x / x0) ** power for x in xs], color="grey", ls="--",
                lw=1, label=guide)
    ax.set_xscale("log")
    ax.set_yscale("log")
    sizes = sorted({r[key] for r in recs})
    ax.set_xticks(sizes)
    ax.set_xticklabels([_count(x) for x in sizes], fontsize=7)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("batch size m (4 x 4 systems)" if batched else "n")
    ax.set_ylabel("seconds per solve")
    ax.set_title(area, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)


def _speedup_panel(ax, results):
    largest = {}
    for r in rows(results):
        largest[r["area"]] = r            # rows come in increasing size per area
    labels, values, colors = [], [], []
    for area, r in largest.items():
        for name, (_, up) in r["refs"].items():
            labels.append(f"{area} {r['size'].split(' ')[0]} vs {_short(name)}")
            values.append(up)
            colors.append(_STYLE.get(name, {}).get("color", "C3"))
    ys = list(range(len(values)))
    ax.barh(ys, values, color=colors)
    ax.axvline(1.0, color="k", lw=1)
    ax.set_xscale("log")
    ax.set_yticks(ys)
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("speed-up of hybridsolve (> 1: faster)")
    ax.set_title("speed-up at each area's largest size", fontsize=10)
    for y, v in zip(ys, values):
        ax.text(v, y, f" {v:.2g}x", va="center", fontsize=7)


def _count(x):
    return f"{x // 1000}k" if x >= 10000 and x % 1000 == 0 else str(x)


def _short(name):
    return {"scipy.linalg.solve": "scipy", "numpy.linalg.solve": "numpy",
            "scipy.sparse.linalg.spsolve": "spsolve"}.get(name, name)
