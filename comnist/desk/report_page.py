"""The collection report's page: the numbers of :func:`comnist.desk.collection.summary` as charts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from . import charts
from .server import templates

SHOWN_REASONS = 5
SHOWN_COUNTRIES = 15


def every_day(per_day: dict[str, int]) -> list[tuple[str, int]]:
    """Days from the first to the last with a drawing, the quiet ones at zero; unknown days last."""
    known = {}
    for day, count in per_day.items():
        try:
            known[date.fromisoformat(day)] = count
        except ValueError:
            continue
    if not known:
        return []
    first, last = min(known), max(known)
    span = (last - first).days
    return [
        (str(first + timedelta(days=i)), known.get(first + timedelta(days=i), 0))
        for i in range(span + 1)
    ]


def status_rows(summary: dict[str, Any]) -> tuple[list, list[tuple[str, str]], list[str]]:
    """Rows of the status chart, its legend and its segment classes."""
    reasons: dict[str, int] = {}
    for row in summary["letters"]:
        for reason, count in row["suspicious"].items():
            reasons[reason] = reasons.get(reason, 0) + count
    shown = sorted(reasons, key=lambda r: (-reasons[r], r))[:SHOWN_REASONS]
    has_other = len(reasons) > len(shown)
    classes = ["ok", *[f"s{i}" for i in range(len(shown))]]
    legend = [("ok", "not flagged")] + [
        (f"s{i}", f"suspicious: {reason}") for i, reason in enumerate(shown)
    ]
    if has_other:
        classes.append("s5")
        legend.append(("s5", "suspicious: other reasons"))
    classes += ["judged-ok", "rejected"]
    legend += [("judged-ok", "judged ok"), ("rejected", "rejected")]
    rows = []
    for row in summary["letters"]:
        if not row["drawings"]:
            continue
        suspicious = row["suspicious"]
        parts = [suspicious.get(reason, 0) for reason in shown]
        if has_other:
            parts.append(sum(n for r, n in suspicious.items() if r not in shown))
        judged_ok, rejected = row["judged"].get("ok", 0), row["judged"].get("rejected", 0)
        rest = max(0, row["drawings"] - sum(parts) - judged_ok - rejected)
        rows.append((f"{row['letter']} ({row['alphabet']})", [rest, *parts, judged_ok, rejected]))
    return rows, legend, classes


def render(summary: dict[str, Any], css: str, on_desk: bool = False) -> str:
    """The report page; ``css`` is the stylesheet's address."""
    by_alphabet: dict[str, list[tuple[str, float]]] = {}
    names = {}
    for row in summary["letters"]:
        by_alphabet.setdefault(row["alphabet"], []).append((row["letter"], row["drawings"]))
        names[row["alphabet"]] = row["alphabet_name"]
    letter_charts = [
        (
            names[a],
            charts.horizontal_bars(f"{names[a]}: drawings per letter", rows, summary["goal"]),
        )
        for a, rows in by_alphabet.items()
    ]
    rows, legend, classes = status_rows(summary)
    countries = list(summary["countries"].items())
    shown = countries[:SHOWN_COUNTRIES]
    if len(countries) > SHOWN_COUNTRIES:
        shown.append(("others", sum(n for _, n in countries[SHOWN_COUNTRIES:])))
    ages = summary["age_groups"]
    share = summary["child_share"]
    return (
        templates()
        .get_template("report.html")
        .render(
            s=summary,
            css=css,
            on_desk=on_desk,
            made=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            flagged_total=sum(sum(r["suspicious"].values()) for r in summary["letters"]),
            rejected_total=sum(r["judged"].get("rejected", 0) for r in summary["letters"]),
            child_share="–" if share is None else f"{100 * share:.1f} %",
            letter_charts=letter_charts,
            day_chart=charts.columns("Drawings per day", every_day(summary["per_day"])),
            status_legend=legend,
            status_chart=charts.stacked_bars("Status per letter", rows, classes),
            country_chart=charts.horizontal_bars("Drawings per country", shown),
            age_chart=charts.horizontal_bars(
                "Drawings by age group",
                [(label, ages.get(key, 0)) for key, label in AGE_LABELS],
            ),
        )
    )


AGE_LABELS = (("child", "children"), ("adult", "adults"), ("unknown", "not said"))
