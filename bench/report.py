"""Write the results: <stem>.json (everything), <stem>.md (the note), <stem>.png (the chart)."""

# ruff: noqa: RUF001 - the note is prose: multiplication signs and dashes are meant

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TARGETS = {
    "sign_per_s": 1000,
    "sign_p99_ms_at_rate": 100,
    "vs_naive": 3.0,
    "vs_floor": 0.70,
    "read_per_s": 5000,
    "confirm_per_s": 500,
    "lag_p99_s": 2.0,
    "delivery_per_s": 500,
}


def ratios(results: dict[str, Any]) -> dict[str, float | None]:
    scenarios = results["scenarios"]

    def rate(name: str) -> float | None:
        return (scenarios.get(name) or {}).get("accepted_per_s")

    sign, naive, floor = rate("sign"), rate("naive"), rate("floor")
    return {
        "sign_vs_naive": round(sign / naive, 2) if sign and naive else None,
        "sign_vs_floor": round(sign / floor, 2) if sign and floor else None,
        "naive_vs_floor": round(naive / floor, 2) if naive and floor else None,
    }


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    s = results["scenarios"]
    r = results["ratios"]
    rows = []

    def add(what: str, target: str, figure: Any, reached: bool | None) -> None:
        rows.append({"target": what, "wanted": target, "figure": figure, "reached": reached})

    sign = s.get("sign")
    if sign:
        add("sign: accepted submissions/s", "≥ 1,000", sign["accepted_per_s"],
            (sign["accepted_per_s"] or 0) >= TARGETS["sign_per_s"])  # fmt: skip
    at_rate = next((v for k, v in s.items() if k.startswith("sign@")), None)
    if at_rate:
        offered = at_rate["offered_rate"] or 0
        achieved = at_rate["accepted_per_s"] or 0
        add(
            f"sign: p99 at {offered:g}/s offered",
            "≤ 100 ms (and the rate sustained)",
            f"p99 {at_rate['latency_ms']['p99']} ms at {achieved}/s accepted",
            at_rate["latency_ms"]["p99"] <= TARGETS["sign_p99_ms_at_rate"]
            and achieved >= 0.95 * offered,
        )
    if sign:
        add("sign: 5xx", "none", sign["5xx"], sign["5xx"] == 0)
    if r.get("sign_vs_naive") is not None:
        add("signing path vs naive", "≥ 3×", f"{r['sign_vs_naive']}×",
            r["sign_vs_naive"] >= TARGETS["vs_naive"])  # fmt: skip
    if r.get("sign_vs_floor") is not None:
        add("signing path vs floor", "≥ 70%", f"{r['sign_vs_floor'] * 100:.0f}%",
            r["sign_vs_floor"] >= TARGETS["vs_floor"])  # fmt: skip
    read = s.get("read")
    if read:
        add("read: page + count requests/s", "≥ 5,000", read["requests_per_s"],
            read["requests_per_s"] >= TARGETS["read_per_s"])  # fmt: skip
    confirm = s.get("confirm")
    if confirm:
        add("confirm: confirmations/s", "≥ 500", confirm["accepted_per_s"],
            (confirm["accepted_per_s"] or 0) >= TARGETS["confirm_per_s"])  # fmt: skip
        lag = confirm["tally_lag_s"]
        add("confirm: tally lag p99", "≤ 2 s",
            f"p99 {lag['p99']} s (last confirmation → count:"
            f" {lag['last_confirmation_to_count']} s)",
            lag["p99"] <= TARGETS["lag_p99_s"])  # fmt: skip
    delivery = s.get("delivery")
    if delivery:
        add("delivery: emails/s to the sink", "≥ 500", delivery["emails_per_s"],
            delivery["emails_per_s"] >= TARGETS["delivery_per_s"])  # fmt: skip
        books = results["books"].get("delivery", {})
        add("delivery: each signer once", "every signer, once",
            f"{books.get('emailed', 0):,} of {delivery['signers']:,} signers emailed,"
            f" {books.get('emailed_twice', 0)} twice"
            + ("" if delivery["complete"] else
               f" (stopped at the {delivery['stopped_at_cap_s']:g} s cap; the rest still queued)"),
            bool(books.get("balanced")) and delivery["complete"])  # fmt: skip
    balanced = all(b.get("balanced") for b in results["books"].values())
    add("the books balance in every scenario", "yes", "yes" if balanced else "no", balanced)
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


ORDER = ["sign", "sign@", "naive", "floor", "confirm", "read", "mix", "delivery"]


def _ordered(scenarios: dict[str, Any]) -> list[tuple[str, Any]]:
    def key(item: tuple[str, Any]) -> int:
        name = item[0]
        return next((i for i, p in enumerate(ORDER) if name == p or (
            p.endswith("@") and name.startswith(p))), len(ORDER))  # fmt: skip

    return sorted(scenarios.items(), key=key)


def markdown(results: dict[str, Any], stem: str) -> str:
    m = results["machine"]
    c = results["config"]
    s = results["scenarios"]
    lines = [
        f"# Benchmark {stem}",
        "",
        f"Commit `{results.get('commit')}`, {results.get('date')}, mode **{c['mode']}**,"
        f" {results.get('runtime_s')} s in all. Made by `bench/run`"
        + (" --smoke" if c["mode"] == "smoke" else "")
        + "; every figure below comes from the JSON beside this file.",
        "",
        "## Machine",
        "",
        f"- {m['nproc']} CPUs ({m['cpu_model']}), {m['memory']} memory, Linux {m['kernel']},"
        f" Python {m['python']}, {m['wrk']}",
        f"- load average (1, 5, 15 min) at start {m.get('loadavg_start')},"
        f" at end {m.get('loadavg_end')} (the run's own load counts in it: a load at start"
        " above the cores means other work, or a run just before, shared the machine)",
        f"- the load generator (wrk, {c['connections']} connections, one per thread) runs on the"
        " same cores as the web server, PostgreSQL and Redis",
        f"- web: {c.get('web', {}).get('server', 'gunicorn')} {c.get('web', {}).get('workers')}"
        f" workers × {c.get('web', {}).get('threads')} threads,"
        " started from the Procfile's `web` line with PETITIO_ENV=production",
        f"- each scenario: {c['warmup_s']:g} s warm-up, then {c['duration_s']:g} s measured;"
        f" signatures carry unique emails, {c['duplicates']} a duplicate typed differently",
        "",
        "## Figures",
        "",
        "| scenario | throughput /s | p50 ms | p95 ms | p99 ms | errors by status | 5xx | books |",
        "|---|---:|---:|---:|---:|---|---:|---|",
    ]
    for name, r in _ordered(s):
        if name == "delivery":
            continue
        unit = r.get("headline", "accepted" if r.get("accepted_per_s") else "requests")
        rate = r["accepted_per_s"] if unit == "accepted" else r["requests_per_s"]
        errors = ", ".join(f"{k}: {v}" for k, v in r["errors_by_status"].items()) or "none"
        if r["socket_errors"]:
            errors += "; socket " + ", ".join(f"{k}: {v}" for k, v in r["socket_errors"].items())
        books = results["books"].get(name, {}).get("balanced")
        lat = r["latency_ms"]
        lines.append(
            f"| {name} | {_fmt(rate)} {unit} | {lat['p50']} | {lat['p95']} | {lat['p99']} |"
            f" {errors} | {r['5xx']} | {'balanced' if books else 'WRONG'} |"
        )
    for name in ("read", "mix"):
        if name in s:
            parts = {"read": ("page", "count_json"), "mix": ("reads", "signatures")}[name]
            detail = "; ".join(
                f"{part}: {_fmt(s[name][part]['requests_per_s'])}/s,"
                f" p99 {s[name][part]['latency_ms']['p99']} ms"
                for part in parts
            )
            lines.append(f"\n{name}: {detail}.")
    r = results["ratios"]
    lines += [
        "",
        f"**Ratios** (accepted signatures/s, same run, same stack): signing path ÷ naive ="
        f" {_fmt(r.get('sign_vs_naive'))}×, signing path ÷ floor ="
        f" {_fmt(r.get('sign_vs_floor'))} ({_fmt(r.get('naive_vs_floor'))} for naive ÷ floor).",
        "",
        "- *naive*: the product's middleware, form and validation, then one transaction that"
        " inserts the signature and adds 1 to the petition's count (bench/baselines.py);",
        "- *floor*: a bare Django view behind no middleware: one `INSERT ... ON CONFLICT DO"
        " NOTHING`.",
    ]
    if "confirm" in s:
        lag = s["confirm"]["tally_lag_s"]
        lines += [
            "",
            f"**Tally lag** (a confirmation until count.json shows it, polled every"
            f" {lag['poll_interval_s']} s): p50 {lag['p50']} s, p99 {lag['p99']} s,"
            f" max {lag['max']} s; last confirmation → count showing it:"
            f" {lag['last_confirmation_to_count']} s. Token pool {s['confirm']['token_pool']:,}"
            + (" (used up before the end)" if s["confirm"].get("pool_exhausted") else "")
            + ".",
        ]
    phases = results.get("phases", {})
    if "tokens_issued" in phases:
        p = phases["tokens_issued"]
        lines += [
            "",
            f"**Confirmation tokens**: {p['tokens']:,} issued with `signature_token_issue`"
            f" (what rendering the confirmation email does) in {p['seconds']} s; the queued"
            " confirmation emails stay unsent, as while delivery is paused. During *confirm*"
            " the scheduler's tally job runs in-process every second.",
        ]
    if "confirmation_emails" in phases:
        p = phases["confirmation_emails"]
        lines += [
            "",
            f"**Confirmation emails** (queued during the signing scenarios, delivered by the"
            f" Celery worker before *confirm*; their links are the tokens *confirm* uses):"
            f" {p['emails']:,} in {p['seconds']} s = {p['emails_per_s']}/s.",
        ]
    if "delivery" in s:
        d = s["delivery"]
        lines += [
            "",
            f"**Delivery**: a response published to {d['signers']:,} verified signers"
            f" (fan-out INSERT … SELECT {d['fanout_insert_s']} s), delivered by the Procfile's"
            f" Celery worker (concurrency {d['celery_concurrency']}) and beat to the SMTP sink:"
            f" {d['emails_in_window']:,} emails in {d['seconds']} s = **{d['emails_per_s']}/s**"
            f" ({d['emails_per_s_after_fanout']}/s after the fan-out)"
            + (
                f"; stopped at the {d['stopped_at_cap_s']:g} s cap (`--delivery-max-seconds`),"
                " the rest left queued"
                if d["stopped_at_cap_s"]
                else ""
            )
            + f". Outbox states at the end: {d['outbox_states']}. Run first, while the outbox"
            " holds nothing else.",
        ]
    lines += [
        "",
        "## Targets (issue 6)",
        "",
        *(
            ["A smoke run asserts correctness only; its speeds say nothing about the targets.", ""]
            if c["mode"] == "smoke"
            else []
        ),
        "| target | wanted | figure | reached |",
        "|---|---|---|---|",
    ]
    for row in results["targets"]:
        reached = {True: "yes", False: "**no**", None: "–"}[row["reached"]]
        lines.append(f"| {row['target']} | {row['wanted']} | {_fmt(row['figure'])} | {reached} |")
    lines += [
        "",
        "## Books",
        "",
        "Signing books are per petition and cumulative over the scenarios that signed it"
        " (warm-ups included). *in doubt, stored*: rows for requests that got no answer"
        " before wrk stopped (at most one per connection per run); they count neither as"
        " lost nor as phantom. *stored though refused*: rows for emails whose every"
        ' answer was something other than "check your email"; must be 0.',
        "",
    ]
    for name, books in results["books"].items():
        detail = ", ".join(f"{k} {_fmt(v)}" for k, v in books.items() if k != "balanced")
        lines.append(f"- **{name}**: {'balanced' if books.get('balanced') else 'WRONG'} — {detail}")
    if results.get("failures"):
        lines += ["", "## Failures", ""] + [f"- {f}" for f in results["failures"]]
    profile = results.get("profile")
    if profile and "parts" in profile:
        load = profile.get("load", {})
        lines += [
            "",
            "## Profile of the signing path",
            "",
            f"py-spy (`record --subprocesses --nonblocking`, 100 Hz) on the web workers for"
            f" 10 s while wrk signed at full speed ({_fmt(load.get('accepted_per_s'))}"
            f" accepted/s under the profiler): {profile['samples']:,} samples of running"
            f" Python. Raw stacks: {', '.join(f'`{r}`' for r in profile.get('raw', []))}.",
            "",
            "Where the samples are, each one given to the deepest part of the path it is in:",
            "",
            "| part of the request path | % of samples |",
            "|---|---:|",
        ]
        lines += [f"| {p['part']} | {p['percent']} |" for p in profile["parts"]]
        lines += ["", "Top frames by self time:", "", "| frame | % |", "|---|---:|"]
        lines += [f"| `{f['frame']}` | {f['percent']} |" for f in profile["self"][:15]]
        lines += ["", "Top frames by inclusive time:", "", "| frame | % |", "|---|---:|"]
        lines += [f"| `{f['frame']}` | {f['percent']} |" for f in profile["inclusive"][:25]]
        gil = profile.get("gil")
        if gil:
            lines += [
                "",
                f"Holding the GIL only (`--gil`, the same 10 s): {gil['samples']:,} samples —"
                " the Python work that competes for the interpreter:",
                "",
                "| part of the request path | % |",
                "|---|---:|",
            ]
            lines += [f"| {p['part']} | {p['percent']} |" for p in gil["parts"]]
            lines += ["", "| frame (self, GIL held) | % |", "|---|---:|"]
            lines += [f"| `{f['frame']}` | {f['percent']} |" for f in gil["self"][:15]]
        queries = profile.get("queries")
        if queries:
            lines += [
                "",
                f"SQL of one signature through the product's stack (in-process, captured):"
                f" **{len(queries)} statements**, each a round trip to PostgreSQL:",
                "",
            ]
            lines += [f"{i}. `{q}`" for i, q in enumerate(queries, 1)]
    elif profile:
        lines += ["", "## Profile", "", f"py-spy failed: {profile.get('error', '')[:500]}"]
    lines += ["", f"![throughput and p99 over time]({stem}.png)", ""]
    return "\n".join(lines)


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = [(n, r) for n, r in _ordered(results["scenarios"]) if r.get("series")]
    if not scenarios:
        return
    cols = 2
    rows = (len(scenarios) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(12, 3.2 * rows), squeeze=False)
    for ax, (name, r) in zip(axes.flat, scenarios, strict=False):
        series = r["series"]
        t = [p["t"] for p in series]
        if name == "delivery":
            ax.plot(t, [p["emails"] for p in series], color="tab:green")
            ax.set_ylabel("emails/s")
            ax.set_title(f"delivery: {r['emails_per_s']}/s to the sink")
        else:
            accepted = r.get("headline") != "requests" and any(p["accepted"] for p in series)
            values = [p["accepted"] if accepted else p["requests"] for p in series]
            ax.plot(t, values, color="tab:blue", label="accepted/s" if accepted else "req/s")
            ax.set_ylabel("accepted/s" if accepted else "requests/s", color="tab:blue")
            ax.set_ylim(bottom=0)
            twin = ax.twinx()
            twin.plot(t, [p["p99_ms"] for p in series], color="tab:red", linestyle="--")
            twin.set_ylabel("p99 ms", color="tab:red")
            twin.set_ylim(bottom=0)
            rate = r["accepted_per_s"] if accepted else r["requests_per_s"]
            ax.set_title(f"{name}: {rate}/s, p99 {r['latency_ms']['p99']} ms")
        ax.set_xlabel("seconds")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(scenarios) :]:
        ax.axis("off")
    m = results["machine"]
    fig.suptitle(
        f"Petitio signing path, commit {results.get('commit')} — {m['nproc']} CPUs,"
        f" load {m.get('loadavg_start', [''])[0]}→{(m.get('loadavg_end') or [''])[0]}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write(results: dict[str, Any], out: Path, stem: str) -> None:
    results["ratios"] = ratios(results)
    results["targets"] = targets(results)
    (out / f"{stem}.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    try:
        chart(results, out / f"{stem}.png")
    except Exception as exc:  # the numbers matter more than the picture
        results.setdefault("failures", []).append(f"chart: {type(exc).__name__}: {exc}")
    (out / f"{stem}.md").write_text(markdown(results, stem))
