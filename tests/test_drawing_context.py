"""``drawn_at`` and ``age_group``: validated, stored with the drawing and exported in metadata.csv."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.validation import ApiError, validate_drawing
from comnist.release.export import ExportOptions, export_release
from factories import drawing_body, post_json

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("age_group", "toddler", "age_group"),
        ("age_group", 7, "age_group"),
        ("age_group", ["child"], "age_group"),
        ("drawn_at", "2026-06-01 12:00:00", "drawn_at"),
        ("drawn_at", "2026-06-01T12:00:00+02:00", "drawn_at"),
        ("drawn_at", "2026-02-30T12:00:00Z", "drawn_at"),
        ("drawn_at", 1780000000000, "drawn_at"),
        ("drawn_at", iso(NOW + timedelta(minutes=11)), "future"),
        ("drawn_at", iso(NOW - timedelta(days=31)), "30 days"),
    ],
)
def test_bad_drawing_context_is_refused_with_its_reason(field, value, message):
    with pytest.raises(ApiError) as refused:
        validate_drawing(drawing_body(**{field: value}), now=NOW)
    assert refused.value.status == 400 and message in refused.value.message


def test_good_drawing_context_is_kept_and_clock_skew_is_tolerated():
    skewed = iso(NOW + timedelta(minutes=9))
    drawing = validate_drawing(drawing_body(drawn_at=skewed, age_group="child"), now=NOW)
    assert drawing.canonical()["drawn_at"] == skewed
    assert drawing.canonical()["age_group"] == "child"
    old = iso(NOW - timedelta(days=29))
    assert validate_drawing(drawing_body(drawn_at=old), now=NOW).drawn_at == old
    plain = validate_drawing(drawing_body(), now=NOW).canonical()
    assert "drawn_at" not in plain and "age_group" not in plain, "older clients' records unchanged"


def test_age_group_and_drawn_at_are_stored_and_the_release_keeps_only_the_group_and_day(client, stores, tmp_path):
    drawings, _ = stores
    drawn = iso(datetime.now(UTC) - timedelta(hours=2))
    child = drawing_body(age_group="child", drawn_at=drawn)
    adult = drawing_body(age_group="adult", letter="Ш")
    plain = drawing_body(letter="Щ")
    for body in (child, adult, plain):
        assert post_json(client, "/drawings", body).status_code == 201
    replay = post_json(client, "/drawings", child)
    assert replay.status_code == 200, "a retry with the same time and group is the same drawing"
    records = {
        key.rsplit("/", 1)[-1][:-5]: drawings.get_json(key)
        for key in drawings.list_keys("strokes/")
    }
    assert records[child["id"]]["age_group"] == "child"
    assert records[child["id"]]["drawn_at"] == drawn
    assert records[child["id"]]["created"] != drawn, "created stays the server's time"
    out = tmp_path / "release"
    export_release(drawings, out, ExportOptions(include_suspicious=True, formats=("comnist",)))
    with open(out / "metadata.csv", encoding="utf-8", newline="") as handle:
        rows = {row["id"]: row for row in csv.DictReader(handle)}
    assert rows[child["id"]]["age_group"] == "child"
    assert rows[adult["id"]]["age_group"] == "adult"
    assert rows[plain["id"]]["age_group"] == ""
    # The device's clock stays in the store: a release publishes neither it nor a time of day,
    # so no clock offset can link a person's drawings.
    assert "drawn_at" not in rows[child["id"]]
    assert rows[child["id"]]["created"] == records[child["id"]]["created"][:10]
