"""The report page: one self-contained HTML file (no script, font, style or image from
anywhere else; it opens offline) with a run's header, its charts (inline SVG, charlm.reporting
.charts), the samples written during training (newest first, each folded) and its config;
for several runs, one table side by side (every config value that differs) and overlaid
curves.

Live: Live is the sink (charlm.run.metrics.Metrics) that rewrites run_dir/report.html, atomically,
after every evaluation of a run being trained (train.report), so a browser tab on it shows
the run so far on reload."""

import math
import time
from pathlib import Path

import yaml

from charlm import files, pages
from charlm.reporting import charts, history
from charlm.run import config as config_mod
from charlm.run import rundir

REPORT = rundir.REPORT
LIVE_GAP = 10.0  # seconds between two live pages at least
CSS = """
table.facts{border-collapse:collapse}table.facts td,table.facts th{padding:3px 12px 3px 0;
 vertical-align:top;text-align:left}table.facts th{color:#555;font-weight:600;white-space:nowrap}
table.facts td.differs{background:#fff6d6}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:8px}
figure.chart{margin:0}figure.chart svg{width:100%;height:auto}
details{margin:4px 0;border:1px solid #e2e2e2;border-radius:4px;padding:4px 8px}
summary{cursor:pointer;color:#333}
pre.config,details pre{background:#f7f7f7;padding:8px;border-radius:3px}
"""  # the report's own, after pages.CSS


_e = pages.escape


def render(histories):
    """The page (a str) for one History or several."""
    charts.require()
    many = len(histories) > 1
    title = ", ".join(h.name for h in histories)
    parts = [
        f'<p class="muted">made {_e(time.strftime("%Y-%m-%d %H:%M:%S"))} from '
        f"{_e(', '.join(str(h.folder) for h in histories))}</p>",
        "<h2>Runs compared</h2>" if many else "<h2>Run</h2>",
        _facts(histories),
        '<h2>Charts</h2><div class="charts">',
        *charts.all_charts(histories),
        "</div>",
        "<h2>Samples written during training</h2>",
        *[_samples(h, many) for h in histories],
        "<h2>Config</h2>",
        *[_config(h, many) for h in histories],
    ]
    return pages.document(f"charlm report: {title}", "\n".join(parts), CSS)


def _facts(histories):
    """One column a run: the header's facts, then (several runs) each differing config key."""
    labels, columns = [], []
    for h in histories:
        facts = dict(h.facts())
        columns.append(facts)
        labels += [k for k in facts if k not in labels]
    differ = _differences(histories) if len(histories) > 1 else {}
    head = ""
    if len(histories) > 1:
        head = "<tr><th></th>" + "".join(f"<th>{_e(h.name)}</th>" for h in histories) + "</tr>"
    rows = []
    for label in labels:
        cells = [c.get(label, "") for c in columns]
        mark = ' class="differs"' if len(histories) > 1 and len(set(cells)) > 1 else ""
        rows.append(
            f"<tr><th>{_e(label)}</th>"
            + "".join(f"<td{mark}>{_e(c)}</td>" for c in cells)
            + "</tr>"
        )
    for key, values in differ.items():
        rows.append(
            f"<tr><th>{_e(key)}</th>"
            + "".join(f'<td class="differs">{_e(v)}</td>' for v in values)
            + "</tr>"
        )
    return f'<table class="facts">{head}{"".join(rows)}</table>'


def _flat(h):
    if h.config is None:
        return {}
    raw = config_mod.to_dict(h.config)
    return {f"{s}.{k}": v for s, section in raw.items() for k, v in section.items()}


def _differences(histories):
    """{"section.key": [value of each run]} for every config key whose values differ."""
    flats = [_flat(h) for h in histories]
    keys = sorted({k for f in flats for k in f})
    out = {}
    for key in keys:
        values = [f.get(key, "") if f else "(no checkpoint)" for f in flats]
        if len({repr(v) for v in values}) > 1:
            out[key] = ["null" if v is None else v for v in values]
    return out


def _samples(h, many):
    samples = list(reversed(h.kind("sample")))
    who = f"{_e(h.name)}: " if many else ""
    if not samples:
        return f'<p class="muted">{who}no samples yet</p>'
    out = []
    for s in samples:
        text = s.get("text") if isinstance(s.get("text"), str) else ""
        out.append(
            f"<details><summary>{who}step {s.get('step', '?'):,}</summary>"
            f"<pre>{_e(text)}</pre></details>"
        )
    return "\n".join(out)


def _config(h, many):
    who = f"<p>{_e(h.name)}</p>" if many else ""
    if h.config is None:
        return f'{who}<p class="muted">no checkpoint to read the config from</p>'
    text = yaml.safe_dump(config_mod.to_dict(h.config), sort_keys=False)
    return f'{who}<pre class="config">{_e(text)}</pre>'


def write(histories, out, force=False, owned=False, inputs=()):
    """Render the page and write it to out through the guarded writer; returns out."""
    page = render(histories).encode("utf-8")
    inputs = [*inputs, *(h.folder / "metrics.jsonl" for h in histories)]
    return files.write_bytes(Path(out), page, "report", force=force, inputs=inputs, owned=owned)


class Live:
    """The sink that rewrites run_dir/report.html after an evaluation: once that step's
    sample (if it has one) is in, else at the next record of a later step. At most once
    every LIVE_GAP seconds, or ten times as long as the last page took to draw (about a
    second for a few thousand records, which a run evaluating every few steps would spend
    more on than on training); the run's last page is charlm.api.train's, made when it ends."""

    def __init__(self, ck, run_dir):
        charts.require()
        self.ck, self.run_dir, self.due, self.last = ck, Path(run_dir), None, -math.inf
        self.gap, self.records = LIVE_GAP, []

    def open(self, metrics_path):
        """The records kept so far, read once; later ones come through record()."""
        self.records = history.records(metrics_path)

    def record(self, rec):
        if history.is_record(rec):
            self.records.append(rec)
        step = rec.get("step")
        if self.due is not None and (step != self.due or rec.get("kind") == "sample"):
            self.flush()
        if rec.get("kind") == "val" and time.monotonic() - self.last >= self.gap:
            self.due = step

    def flush(self):
        tic = time.monotonic()
        write([history.live(self.ck, self.run_dir, self.records)], self.run_dir / REPORT,
              owned=True)  # fmt: skip
        self.due, self.last = None, time.monotonic()
        self.gap = max(LIVE_GAP, 10 * (self.last - tic))  # a long run's page: at most 10%

    def close(self):
        """The last page is charlm.api.train's, once the run has ended and says how."""
