"""The report of a run: DIR/report.html (self-contained: pictures embedded as base64 data URIs, the
interactive 3-D view embedded when PyVista's trame export is installed) and its Markdown twin
DIR/report.md (pictures linked by relative path).

Contents, in order: the research-use disclaimer; the scenario; key results (lesion by criterion,
tumour coverage and margins, placement probabilities, device figures, notes); pictures and plots;
verification status (heat balance, boundary deviation, the latest benchmark results); every resolved
parameter with its source; the scenario file; provenance; the files of the folder.
"""
from __future__ import annotations

import base64
import html
import json
import math
import tomllib
from datetime import datetime, timezone
from pathlib import Path

from ablation.output.files import write_text

DISCLAIMER = ("Research use only. This report comes from a research model, not a medical device. Its "
              "numbers are model predictions with uncertain inputs (perfusion, electrical conductivity, "
              "device behaviour, placement accuracy); they must not be used to plan, guide or evaluate "
              "the treatment of any patient.")

HEAT_BALANCE_OK = 1e-2        # relative residual of the energy balance (issue 4: within 1 %)
# K: domain.boundary_tolerance's default (ablation.input.sections), for summaries that do not record the run's own
BOUNDARY_DEVIATION_OK_C = 0.5

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;max-width:1100px;margin:1.5em auto;
padding:0 1em;color:#1a1a1a;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
.disclaimer{background:#fff3cd;border:2px solid #b58900;padding:.8em 1em;font-weight:600;border-radius:4px}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em} th,td{border:1px solid #ccc;padding:.25em .6em;
text-align:left;vertical-align:top} th{background:#f2f2f2} td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#006d2c;font-weight:600} .warn{color:#b2182b;font-weight:600} .note{color:#555;font-size:.92em}
figure{margin:1em 0} figure img{max-width:100%;border:1px solid #ddd} figcaption{color:#444;font-size:.9em}
pre{background:#f7f7f7;border:1px solid #ddd;padding:.6em;overflow-x:auto;font-size:.85em}
iframe{width:100%;height:640px;border:1px solid #ddd}
"""

# Records each image's decoded size on the element (data-natural-width/-height) once it loads, so
# a headless browser's DOM dump shows that the embedded pictures really decode.
IMAGE_CHECK_JS = """
<script>
window.addEventListener('load', function () {
  document.querySelectorAll('img').forEach(function (img) {
    img.setAttribute('data-natural-width', img.naturalWidth);
    img.setAttribute('data-natural-height', img.naturalHeight);
  });
  document.body.setAttribute('data-images-checked', document.images.length);
});
</script>
"""


# ----------------------------------------------------------------------------- formatting
def fmt(value, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt(v, digits) for v in value) + "]"
    return str(value)


class Doc:
    """Builds the HTML and the Markdown versions side by side."""

    def __init__(self):
        self.html: list[str] = []
        self.md: list[str] = []

    def heading(self, text, level=2):
        self.html.append(f"<h{level}>{html.escape(text)}</h{level}>")
        self.md.append(f"\n{'#' * level} {md_escape(text)}\n")

    def para(self, text, cls=None):
        c = f' class="{cls}"' if cls else ""
        self.html.append(f"<p{c}>{html.escape(text)}</p>")
        strong = "**" if cls in ("disclaimer", "warn") else ""
        self.md.append(f"{strong}{md_escape(text)}{strong}\n")

    def bullets(self, items):
        if items:
            self.raw("<ul>" + "".join(f"<li>{html.escape(str(n))}</li>" for n in items) + "</ul>",
                     "\n".join(f"- {md_escape(n)}" for n in items) + "\n")

    def raw(self, html_text, md_text=""):
        self.html.append(html_text)
        if md_text:
            self.md.append(md_text)

    def table(self, header, rows, numeric=()):
        if not rows:
            return
        h = "".join(f"<th>{html.escape(str(c))}</th>" for c in header)
        body = []
        for r in rows:
            cells = []
            for k, c in enumerate(r):
                cls = ' class="num"' if k in numeric else ""
                if isinstance(c, tuple) and len(c) == 2 and c[0] == "__status__":
                    cells.append(f"<td>{c[1]}</td>")
                else:
                    cells.append(f"<td{cls}>{html.escape(str(c))}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        self.html.append(f"<table><thead><tr>{h}</tr></thead><tbody>{''.join(body)}</tbody></table>")
        self.md.append("| " + " | ".join(md_escape(str(c)) for c in header) + " |")
        self.md.append("|" + "|".join("---" for _ in header) + "|")
        for r in rows:
            cells = [_strip_status(c) for c in r]
            self.md.append("| " + " | ".join(md_escape(str(c)).replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
        self.md.append("")

    def image(self, path: Path, caption: str, rel: str):
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        self.html.append(f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}">'
                         f"<figcaption>{html.escape(caption)}</figcaption></figure>")
        self.md.append(f"![{md_escape(caption)}]({rel})\n")


def md_escape(text) -> str:
    """Text for report.md: Markdown passes inline HTML through, so &, < and > are escaped as in
    report.html (a scenario string such as '<script>' is shown, never run)."""
    return html.escape(str(text), quote=False)


def _strip_status(cell):
    if isinstance(cell, tuple) and len(cell) == 2 and cell[0] == "__status__":
        import re
        return re.sub(r"<[^>]+>", "", cell[1])
    return cell


def status(ok: bool, text: str):
    return ("__status__", f'<span class="{"ok" if ok else "warn"}">{html.escape(text)}</span>')


# -------------------------------------------------------------------------- parameters
def parameter_rows(parameters: dict, prefix: str = "") -> list[tuple]:
    """Flatten nested parameter records: every mapping with a 'value' is a leaf
    (name, value, unit, source); everything else is a group."""
    rows = []
    for key, value in parameters.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and "value" in value:
            rows.append((name, fmt(value.get("value")), value.get("unit", ""), value.get("source", "")))
        elif isinstance(value, dict) and isinstance(value.get("source"), str):
            # a preset record {quantity: value, ..., source: "..."}: one row per quantity
            for k, v in value.items():
                if k != "source" and not isinstance(v, dict):
                    rows.append((f"{name}.{k}", fmt(v), _unit_from_name(k), value["source"]))
        elif isinstance(value, dict):
            rows.extend(parameter_rows(value, name))
    return rows


def _unit_from_name(key: str) -> str:
    """The unit a key's suffix names (output keys carry their unit: sigma_mm, duration_s, ...)."""
    suffixes = {"_mm": "mm", "_m": "m", "_s": "s", "_min": "min", "_C": "degC", "_W": "W", "_J": "J",
                "_ohm": "ohm", "_ml": "mL", "_deg": "deg", "_V": "V", "_A": "A"}
    return next((u for suffix, u in suffixes.items() if key.endswith(suffix)), "")


def _flatten(value, prefix=""):
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(_flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def scenario_parameter_rows(resolved: dict, raw: dict | None, supplied_by_model=()) -> list[tuple]:
    """Every resolved scenario value (SI units, temperatures in degC) with where it came from: the
    scenario file when the file sets it, else the zone model when ``supplied_by_model`` (summary.json's
    parameters.supplied_by_model) names it, else the schema default (``ablation schema`` lists each
    default with its source)."""
    given = set(_flatten(raw or {}))
    from_model = set(supplied_by_model or ())
    rows = []
    for path, value in _flatten(resolved).items():
        set_by_file = path in given or any(g.startswith(path + "[") or g.startswith(path + ".") for g in given)
        source = ("scenario file" if set_by_file else f"zone model {resolved.get('model')}" if path in from_model
                  else "default (schema)")
        rows.append((path, fmt(value), source))
    return rows


# --------------------------------------------------------------------------- benchmarks
def latest_benchmarks(root: Path | None = None) -> tuple[Path, dict] | None:
    """The recorded benchmark results shipped with the package (``ablation.benchmarks``:
    benchmarks/results/results.json), or ``root/benchmarks/results/results.json`` when ``root`` is
    given; None when that file is absent or unreadable."""
    if root is not None:
        path = Path(root) / "benchmarks" / "results" / "results.json"
    else:
        from importlib import resources
        try:
            path = Path(str(resources.files("ablation.benchmarks") / "results" / "results.json"))
        except ModuleNotFoundError:      # an installation without the benchmark package data
            return None
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return (path, data) if isinstance(data, dict) else None


def _benchmark_origin(recorded, current: str | None) -> tuple[str, bool]:
    """Which code the recorded benchmark results describe, as a sentence, and whether it is the code
    running now: the recorded code digest against ``current``
    (:func:`ablation.version.code_digest` of this package and the results' own benchmark cases)."""
    if not isinstance(recorded, dict) or not recorded.get("code_digest"):
        return ("They carry no record of the code they were computed with, so they may not describe this "
                "version.", False)
    when = (f"They were recorded {recorded.get('recorded_utc', '(time unknown)')} UTC with ablation "
            f"{recorded.get('package_version', '?')} (commit {(recorded.get('git_commit') or 'unknown')[:12]}, "
            f"code digest {recorded['code_digest']})")
    if recorded["code_digest"] == current:
        return when + ", the code of this run.", True
    return (when + f"; this run's code differs (code digest {current}), so they may not describe it.", False)


def _benchmark_section(doc: Doc, bench) -> None:
    if bench is None:
        doc.para("No recorded benchmark results (benchmarks/results/results.json, shipped with the package) "
                 "were found in this installation; run `ablation bench` to verify the solvers on this "
                 "machine.", "note")
        return
    path, data = bench
    cases = [c for c in data.get("cases", []) if isinstance(c, dict)]
    passed = sum(1 for c in cases if c.get("passed"))
    resolution = "quick" if data.get("quick") else "full"
    from ablation.version import code_digest
    # results.json lies in <benchmark cases>/results/: the digest of this code with those cases
    origin, same_code = _benchmark_origin(data.get("provenance"), code_digest(path.parent.parent))
    doc.raw(f"<p>Recorded benchmark results, read from <a href=\"{html.escape(path.resolve().as_uri())}\"><code>"
            f"{html.escape(str(path))}</code></a> ({resolution} resolution): "
            f"<span class=\"{'ok' if passed == len(cases) else 'warn'}\">{passed} of {len(cases)} metrics pass</span>. "
            f"<span class=\"{'ok' if same_code else 'warn'}\">{html.escape(origin)}</span> "
            f"These are recorded results, not a run on this machine (<code>ablation bench</code> does that).</p>",
            f"Recorded benchmark results, read from `{path}` ({resolution} resolution): "
            f"{passed} of {len(cases)} metrics pass. {md_escape(origin)} These are recorded results, not a run on "
            f"this machine (`ablation bench` does that).\n")
    suites = {}
    for c in cases:
        s = suites.setdefault(c.get("suite", "?"), [0, 0])
        s[0] += bool(c.get("passed"))
        s[1] += 1
    doc.table(["suite", "passed", "metrics"], [(k, v[0], v[1]) for k, v in sorted(suites.items())], numeric=(1, 2))
    failed = [c for c in cases if not c.get("passed")]
    if failed:
        doc.table(["suite", "case", "metric", "value", "reference", "tolerance", "unit", "note"],
                  [(c.get("suite"), c.get("case"), c.get("metric"), fmt(c.get("value")), fmt(c.get("reference")),
                    fmt(c.get("tolerance")), c.get("unit", ""), c.get("note", "")) for c in failed], numeric=(3, 4, 5))


# ----------------------------------------------------------------------------- sections
def _uncertainty_section(doc: Doc, s: dict) -> None:
    """The zone's band (lesion.uncertainty) and whether the run lies outside what was calibrated."""
    u = (s.get("lesion") or {}).get("uncertainty")
    if not isinstance(u, dict):
        return
    doc.heading("Uncertainty of the lethal zone", 3)
    if not u.get("available"):
        doc.para(f"Zone model {u.get('model', '?')}: no band ({u.get('reason', '')}).")
        return
    p = u.get("parameter") or {}
    spread = u.get("range_5_95") or {}
    alone = u.get("range_5_95_parameter_only") or {}
    rows = [(key.replace("_", " "), fmt(v.get("p5")), fmt(v.get("p50")), fmt(v.get("p95")),
             f"{fmt((alone.get(key) or {}).get('p5'))} to {fmt((alone.get(key) or {}).get('p95'))}")
            for key, v in spread.items() if isinstance(v, dict)]
    doc.table(["zone", "5 %", "50 %", "95 %", "parameter only, 5-95 %"], rows, numeric=(1, 2, 3))
    if p.get("discrepancy_relative_sd"):
        doc.para(f"The band joins the parameter below with the model discrepancy estimated on the training rows: "
                 f"{fmt(100 * p['discrepancy_relative_sd'])} % (log-SD) per zone dimension.")
    shape = (f"normal, mean {fmt(p.get('mean'))}, SD {fmt(p.get('sd'))}" if p.get("distribution") == "normal"
             else f"uniform {fmt(p.get('low'))} to {fmt(p.get('high'))}")
    doc.para(f"Zone model {u.get('model')}; band over {p.get('name', '').replace('_', ' ')} ({shape} degC; "
             f"{p.get('source', '')}); this run used {fmt(u.get('run_value'))} degC.")
    doc.bullets([note[:1].upper() + note[1:] + ("" if note.endswith(".") else ".") for note in u.get("notes") or []])
    outside = u.get("outside_calibrated_range") or []
    if outside:
        doc.para("Outside the calibrated range: " + "; ".join(outside) + ".")


def _results_section(doc: Doc, s: dict) -> None:
    doc.heading("Key results")
    rows = []
    for name, lz in (s.get("lesion_by_criterion") or {s["lesion"]["criterion"]: s["lesion"]}).items():
        rows.append((name + (" (default)" if name == s["lesion"]["criterion"] else ""), lz.get("description", ""),
                     fmt(lz.get("volume_ml")), fmt(lz.get("long_axis_mm")), fmt(lz.get("short_axis_mm")),
                     fmt(lz.get("short_axis_2_mm")), fmt(lz.get("sphericity"), 3)))
    doc.table(["criterion", "definition", "volume (mL)", "long axis (mm)", "short axis (mm)", "short axis 2 (mm)",
               "sphericity"], rows, numeric=(2, 3, 4, 5, 6))
    doc.para(f"Tissue temperature range over the run: {fmt(s.get('min_temperature_C'))} to "
             f"{fmt(s.get('max_temperature_C'))} degC.")
    hot = (s.get("device") or {}).get("hottest_cell") or {}
    overheated = (s.get("device") or {}).get("overheated_tissue") or {}
    distance, cell = hot.get("distance_to_electrode_edge_mm"), hot.get("cell_size_mm")
    if distance is not None and cell and distance <= 2.0 * cell and not overheated.get("warning"):
        doc.para(f"The hottest cell ({fmt(hot.get('temperature_C'))} degC) lies {fmt(distance)} mm from an "
                 f"electrode's edge, within two cells ({fmt(cell)} mm): the current density of a sharp-edged "
                 "electrode is singular there, so this peak depends on the grid, while the lesion does not "
                 "(docs/physics.md 2).")
    if overheated.get("warning"):
        doc.para("Beyond the model's tissue physics: " + overheated["warning"].split(": ", 1)[-1], cls="warn")
    _uncertainty_section(doc, s)
    tumors = s.get("tumors") or []
    if tumors:
        rows = []
        for t in tumors:
            mc = t.get("margin_coverage") or {}
            rows.append((t.get("name", ""), fmt(100 * t["coverage"]) if t.get("coverage") is not None else "–",
                         ", ".join(f"{k} mm: {fmt(100 * v)}" for k, v in mc.items() if v is not None) or "–",
                         fmt(t.get("min_margin_mm")), t.get("margin_class", "–")))
        doc.table(["tumour", "coverage (%)", "margin coverage (%)", "min margin (mm)", "margin class"], rows,
                  numeric=(1, 3))
        place = [(t.get("name", ""), t["placement"]) for t in tumors if isinstance(t.get("placement"), dict)]
        if place:
            rows = []
            for name, p in place:
                for key, value in p.items():
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        ci = (p.get("ci95") or {}).get(key)
                        rows.append((name, key, fmt(value) + (f" [{fmt(ci[0])}, {fmt(ci[1])}]" if ci else "")))
                    elif isinstance(value, dict) and key not in ("ci95", "samples"):
                        flat = [f"{k}: {fmt(v)}" for k, v in value.items() if not isinstance(v, (dict, list))]
                        if flat:
                            rows.append((name, key, ", ".join(flat)))
                    elif isinstance(value, str):
                        rows.append((name, key, value))
            doc.heading("Placement (per tumour)", 3)
            doc.table(["tumour", "quantity", "value [95 % interval]"], rows)
    overall = s.get("placement")
    if isinstance(overall, dict):
        joined = overall.get("joined") or {}
        if joined.get("includes"):
            doc.para(f"Placement error only ({overall.get('includes', '')}): P(technical success) "
                     f"{fmt(overall.get('p_technical_success'))}, P(minimal margin >= 5 mm) {fmt(overall.get('p_margin_5mm'))}. "
                     f"With the zone's uncertainty too ({joined['includes']}): P(technical success) "
                     f"{fmt(joined.get('p_technical_success'))}, P(minimal margin >= 5 mm) {fmt(joined.get('p_margin_5mm'))}.")
        doc.heading("Placement study", 3)
        rows = []
        for key, value in overall.items():
            if isinstance(value, (dict, list)):
                continue
            ci = (overall.get("ci95") or {}).get(key)
            rows.append((key, fmt(value) + (f" [{fmt(ci[0])}, {fmt(ci[1])}]" if ci else "")))
        doc.table(["quantity", "value [95 % interval]"], rows)
        model = overall.get("error_model")
        if isinstance(model, dict) and "sigma_along_mm" in model:
            doc.para(f"Tip error ({model.get('approach')}, preset set {model.get('preset_set', '-')}): sigma along "
                     f"{fmt(model['sigma_along_mm']['value'])} mm ({model['sigma_along_mm']['source']}), across "
                     f"{fmt(model['sigma_across_mm']['value'])} mm ({model['sigma_across_mm']['source']}).")
    iso = s.get("isotherms")
    if isinstance(iso, dict) and iso:
        doc.heading("Isotherms", 3)
        rows = []
        for k, v in iso.items():
            if isinstance(v, dict):
                # 'reached': the region that was ever at or below the isotherm (summary.json)
                reached = v.get("reached") if isinstance(v.get("reached"), dict) else v
                rows.append((k, *(fmt(reached.get(c)) for c in ("volume_ml", "long_axis_mm", "short_axis_mm")),
                             fmt(v.get("max_volume_ml")), fmt(v.get("final_volume_ml"))))
        doc.table(["isotherm (degC)", "reached: volume (mL)", "long axis (mm)", "short axis (mm)",
                   "largest at one time (mL)", "at the end (mL)"], rows, numeric=(1, 2, 3, 4, 5))
    device = s.get("device") or {}
    if device:
        doc.heading("Device", 3)
        doc.table(["quantity", "value"], [(k, fmt(v)) for k, v in device.items()
                                          if not isinstance(v, (dict, list))], numeric=(1,))
        _probe_table(doc, device.get("probes"))
        delivery = device.get("delivery")
        if isinstance(delivery, dict) and (delivery.get("channels") or 1) > 1:
            probes = delivery.get("probe_channels") or []
            rows = [(c, ", ".join(str(i + 1) for i, k in enumerate(probes) if k == c), fmt(energy / 1e3), rolloffs)
                    for c, (energy, rolloffs) in enumerate(zip(delivery.get("energy_J_per_channel") or [],
                                                              delivery.get("rolloffs_per_channel") or []), start=1)]
            doc.para(f"{delivery.get('activation')} delivery over {delivery.get('channels')} generator channels "
                     "(ablation/modalities/channels.py).")
            doc.table(["channel", "probes", "energy (kJ)", "roll-offs"], rows, numeric=(2, 3))
    notes = []
    holders = [s, s.get("grid") or {}] + [t for t in tumors if isinstance(t, dict)] + \
        ([overall] if isinstance(overall, dict) else [])
    for key, value in ((k, h.get(k)) for h in holders for k in ("notes", "note", "clinical_context", "warnings")):
        if isinstance(value, str):
            notes.append(value)
        elif isinstance(value, list):
            notes.extend(str(v) for v in value)
        elif isinstance(value, dict):
            notes.extend(f"{k}: {v}" for k, v in value.items())
    if notes:
        doc.heading("Notes (context, not advice)", 3)
        doc.bullets(notes)


def _probe_table(doc: Doc, probes) -> None:
    """device.probes of summary.json: one row per probe, its scalar entries as columns, and each
    probe's stated assumptions below the table."""
    if not isinstance(probes, list) or not all(isinstance(p, dict) for p in probes) or not probes:
        return
    keys = list(dict.fromkeys(k for p in probes for k, v in p.items()
                              if not isinstance(v, (dict, list)) and k != "assumptions"))
    doc.table(["probe", *(k.replace("_", " ") for k in keys)],
              [(i + 1, *(fmt(p.get(k)) for k in keys)) for i, p in enumerate(probes)],
              numeric=tuple(range(1, len(keys) + 1)))
    for i, p in enumerate(probes):
        phases = p.get("protocol")
        if isinstance(phases, list) and phases:
            doc.para(f"Probe {i + 1} protocol: " + ", ".join(
                f"{ph.get('phase')} {fmt(ph.get('duration_s', 0) / 60.0)} min" for ph in phases
                if isinstance(ph, dict) and isinstance(ph.get("duration_s"), (int, float))) + ".")
        if p.get("assumptions"):
            doc.para(f"Probe {i + 1} assumptions: {p['assumptions']}")


def _verification_section(doc: Doc, s: dict, bench) -> None:
    doc.heading("Verification status")
    hb = s.get("heat_balance_error")
    bd = s.get("boundary_max_deviation_C")
    rows = []
    if hb is not None:
        rows.append(("heat balance error (relative residual of the energy balance)", fmt(hb, 3),
                     status(hb <= HEAT_BALANCE_OK, "ok" if hb <= HEAT_BALANCE_OK else f"above {HEAT_BALANCE_OK:g}")))
    conducted = s.get("boundary_conducted_deviation_C")
    # judged against the run's own domain.boundary_tolerance; summaries without it used the default
    domain_record = s.get("domain") if isinstance(s.get("domain"), dict) else {}
    tolerance = float(domain_record.get("boundary_tolerance_C", BOUNDARY_DEVIATION_OK_C))
    if bd is not None and conducted is None:
        rows.append(("largest deviation on the outer boundary (K)", fmt(bd, 3),
                     status(bd <= tolerance, "ok" if bd <= tolerance
                            else f"above domain.boundary_tolerance {tolerance:g} K: domain may be too small")))
    elif bd is not None:
        # what truncates the field is heat conducted to the boundary, not heat released there
        # (ablation.run.boundary): the raw deviation is shown, the conducted part judged
        rows.append(("largest deviation next to the outer boundary (K): conducted from the zone / raw",
                     f"{fmt(conducted, 3)} / {fmt(bd, 3)}",
                     status(conducted <= tolerance, "ok" if conducted <= tolerance
                            else f"above domain.boundary_tolerance {tolerance:g} K: domain may be too small")))
    grid = s.get("grid") or {}
    rows.append(("grid", f"{grid.get('kind')} {fmt(grid.get('shape'))}, {grid.get('cells')} cells, "
                         f"{fmt(grid.get('min_spacing_mm'), 3)}-{fmt(grid.get('max_spacing_mm'), 3)} mm", ""))
    edge = (s.get("lesion") or {}).get("edge_cell_mm")
    if edge is not None:     # absent in summaries written before 2026-12-05
        # the grid's warnings also hold tine and cell-death ones (listed with the results)
        edge_warnings = [w for w in grid.get("warnings") or [] if "edge lies in cells" in str(w)]
        rows.append(("largest cell on a zone's edge (lethal zone, mm)", fmt(edge, 3),
                     status(not edge_warnings, "ok" if not edge_warnings
                            else f"{len(edge_warnings)} zone edge(s) beyond the fine cells: see the notes")))
    time = s.get("time") or {}
    rows.append(("time stepping", f"{time.get('steps')} steps of {fmt(time.get('step_s'))} s, "
                                  f"{fmt(time.get('duration_s'))} s", ""))
    rows.append(("linear solver", f"{s.get('cg_iterations')} CG iterations in total", ""))
    rows.append(("run time", f"{fmt(s.get('runtime_s'), 3)} s", ""))
    doc.table(["check", "value", "status"], rows)
    energy = s.get("energy_J")
    if isinstance(energy, dict):
        doc.table(["energy term", "J"], [(k, fmt(v)) for k, v in energy.items()], numeric=(1,))
    _benchmark_section(doc, bench)


def _pictures_section(doc: Doc, directory: Path, plots, interactive_html: str | None, interactive_note: str) -> None:
    doc.heading("Pictures")
    scene = directory / "scene.png"
    if scene.exists():
        doc.image(scene, "Left: the tumour coloured by the local margin (signed distance to the lesion boundary; "
                         "red: uncovered), the lesion (yellow), margin shell, probe. Right: the section through "
                         "the probe axis with temperature and the outlines of lesion, tumour and margin.", "scene.png")
        for close in sorted(directory.glob("scene_tumor_*.png")):
            doc.image(close, f"Close-up: {close.stem.replace('scene_', '').replace('_', ' ')}", close.name)
    else:
        doc.para("No scene picture (rendering switched off with --no-scene or outputs.scene = false).", "note")
    if interactive_html:
        doc.heading("Interactive 3-D view", 3)
        doc.raw('<p class="note">Drag to rotate, scroll to zoom (vtk.js, embedded: works off-line).</p>'
                f'<iframe title="interactive 3-D view" srcdoc="{html.escape(interactive_html, quote=True)}"></iframe>',
                "An interactive 3-D view is embedded in report.html.\n")
    elif interactive_note:
        doc.para(interactive_note, "note")
    if plots:
        doc.heading("Plots")
        for plot in plots:
            doc.image(directory / "plots" / plot.name, plot.title, f"plots/{plot.name}")


def build_report(directory, result, plots=(), interactive_html: str | None = None,
                 interactive_note: str = "", bench=None) -> tuple[str, str]:
    """The report as (html, markdown) for a result whose pictures are in ``directory``."""
    directory = Path(directory)
    s = result.summary
    doc = Doc()
    name = s.get("scenario", {}).get("name", "")
    doc.raw(f'<p class="disclaimer">{html.escape(DISCLAIMER)}</p>', f"> **{DISCLAIMER}**\n")
    doc.heading(f"Ablation report: {name}", 1)
    domain_record = s.get("domain") if isinstance(s.get("domain"), dict) else {}
    if domain_record.get("warning"):
        doc.para(f"Warning: {domain_record['warning']}", "warn")
    elif domain_record.get("grown"):
        doc.para(f"The domain was grown {domain_record['grown']} times to {domain_record['size_mm']:.0f} mm, "
                 f"until the boundary deviation conducted from the zone "
                 f"({domain_record.get('boundary_conducted_deviation_C', domain_record['boundary_max_deviation_C']):.2f} K) "
                 f"was within "
                 f"domain.boundary_tolerance ({domain_record['boundary_tolerance_C']:g} K).")
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    doc.para(f"{s.get('scenario', {}).get('description', '')}")
    doc.table(["run", ""], [("modality", s.get("modality")), ("lesion criterion", s["lesion"]["criterion"]),
                         ("report written", created),
                         ("package", f"ablation {s.get('provenance', {}).get('package_version', '?')}, "
                                     f"commit {s.get('provenance', {}).get('git_commit') or 'unknown'}")])
    _results_section(doc, s)
    _pictures_section(doc, directory, plots, interactive_html, interactive_note)
    _verification_section(doc, s, bench if bench is not None else latest_benchmarks())

    doc.heading("Parameters and their sources")
    params = s.get("parameters") or {}
    other = {k: v for k, v in params.items() if k not in ("scenario", "supplied_by_model")}
    rows = parameter_rows(other)
    doc.para("Resolved physical properties and presets (SI units, temperatures in degC), each with the source "
             "it comes from:")
    doc.table(["parameter", "value", "unit", "source"], rows, numeric=(1,))
    scenario_text = None
    path = directory / "scenario.toml"
    if path.exists():
        scenario_text = path.read_text()
    elif result.directory is not None:
        p = Path(result.directory) / "scenario.toml"
        scenario_text = p.read_text() if p.exists() else None
    raw = tomllib.loads(scenario_text) if scenario_text else None
    if isinstance(params.get("scenario"), dict):
        doc.para("Every resolved scenario setting (SI units; temperatures in degC) and whether the scenario file "
                 "sets it, the zone model supplies it or the schema default applies:")
        doc.table(["setting", "value", "source"],
                  scenario_parameter_rows(params["scenario"], raw, params.get("supplied_by_model")), numeric=(1,))
    if scenario_text:
        doc.heading("Scenario file", 3)
        # report.md: an HTML <pre> block with the text escaped (a fenced block would carry any
        # markup in names and descriptions unescaped)
        doc.raw(f"<pre>{html.escape(scenario_text)}</pre>", f"<pre>\n{html.escape(scenario_text.rstrip())}\n</pre>\n")
    prov = s.get("provenance") or {}
    if prov:
        doc.heading("Provenance", 3)
        doc.table(["item", "value"], [(k, fmt(v)) for k, v in prov.items()])
    files = sorted({p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()
                    and not any(part.startswith(".") for part in p.relative_to(directory).parts)
                    and p.name not in ("report.html", "report.md")} | {"summary.json"})
    snaps = [f for f in files if f.startswith("snapshot_")]
    if len(snaps) > 3:   # one line for the time series
        files = [f for f in files if f not in snaps] + [f"{snaps[0]} ... {snaps[-1]} ({len(snaps)} snapshots)"]
    if files:
        doc.heading("Files in this folder", 3)
        doc.para("Fields (.vtr/.vts, open in ParaView; coordinates in mm, units in the array names), the time "
                 "series of snapshots (snapshots.pvd), surfaces (.vtp/.stl in mm, e.g. for 3D Slicer):")
        doc.raw("<ul>" + "".join(f"<li><code>{html.escape(f)}</code></li>" for f in files) + "</ul>",
                "\n".join(f"- `{f}`" for f in files) + "\n")
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Ablation report: {html.escape(name)}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(doc.html) + IMAGE_CHECK_JS + "\n</body></html>\n")
    return page, "\n".join(doc.md) + "\n"


def write_report(directory, result, plots=(), interactive: bool = True) -> list[str]:
    """DIR/report.html and DIR/report.md; the interactive view only when the scene was rendered
    (scene.png exists) and trame-pyvista is installed."""
    directory = Path(directory)
    interactive_html, note = None, ""
    if interactive and (directory / "scene.png").exists():
        from ablation.output.scene import export_interactive_html
        tmp = directory / ".scene_interactive.html"
        try:
            if export_interactive_html(result, tmp):
                interactive_html = tmp.read_text()
            else:
                note = ("No interactive 3-D view: PyVista's HTML export needs trame-pyvista "
                        "(pip install trame-pyvista nest_asyncio2).")
        except Exception as exc:   # a missing WebGL exporter must not cost the report
            note = f"No interactive 3-D view: the export failed ({type(exc).__name__}: {exc})."
        finally:
            tmp.unlink(missing_ok=True)
    page, md = build_report(directory, result, plots, interactive_html, note)
    write_text(directory / "report.html", page)
    write_text(directory / "report.md", md)
    return ["report.html", "report.md"]


def write_comparison_report(directory, comparison, plot=None) -> list[str]:
    """report.html / report.md for a folder holding only an approach comparison (comparison.json
    from ``ablation compare``): the disclaimer, the table of probabilities with their 95 %
    intervals, and the comparison plot."""
    from ablation.output.plots import comparison_rows
    directory = Path(directory)
    doc = Doc()
    doc.raw(f'<p class="disclaimer">{html.escape(DISCLAIMER)}</p>', f"> **{DISCLAIMER}**\n")
    doc.heading("Approach comparison", 1)
    rows = comparison_rows(comparison)
    metrics = sorted({m for r in rows for m in r["metrics"]}, key=lambda m: (m != "p_technical_success", m))
    table = []
    for r in rows:
        cells = [r["label"]]
        for m in metrics:
            v, ci = r["metrics"].get(m), r["ci"].get(m)
            cells.append(fmt(v) + (f" [{fmt(ci[0])}, {fmt(ci[1])}]" if ci else ""))
        table.append(cells)
    doc.table(["approach"] + metrics, table)
    if plot is not None:
        doc.image(directory / "plots" / plot.name, plot.title, f"plots/{plot.name}")
    for key in ("notes", "note", "clinical_context"):
        value = comparison.get(key) if isinstance(comparison, dict) else None
        if value:
            doc.heading("Notes (context, not advice)", 3)
            for n in value if isinstance(value, list) else [value]:
                doc.para(str(n))
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Approach comparison</title><style>{CSS}</style></head><body>\n"
            + "\n".join(doc.html) + IMAGE_CHECK_JS + "\n</body></html>\n")
    write_text(directory / "report.html", page)
    write_text(directory / "report.md", "\n".join(doc.md) + "\n")
    return ["report.html", "report.md"]
