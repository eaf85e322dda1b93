"""``build_site.py --out`` replaces only a site it built: pointed at a collection, it refuses."""

from __future__ import annotations

import moto  # noqa: F401  (moto before boto3)
import pytest

import build_site
from chalicelib.storage import LocalStorage


def test_a_folder_that_is_not_a_built_site_is_refused_and_left_alone(tmp_path, capsys):
    data = tmp_path / "data"
    store = LocalStorage(data / "drawings")
    store.put("drawings/latin/U+0041/a.png", b"a drawing", content_type="image/png")
    before = sorted(p.relative_to(data) for p in data.rglob("*"))

    with pytest.raises(SystemExit) as refused:
        build_site.main(["--out", str(data)])

    assert refused.value.code == 2
    assert "not a site build_site.py built" in capsys.readouterr().err
    assert sorted(p.relative_to(data) for p in data.rglob("*")) == before
    assert store.get("drawings/latin/U+0041/a.png").data == b"a drawing"
    with pytest.raises(build_site.NotASite):
        build_site.build(data)


def test_a_new_an_empty_or_a_built_folder_is_rebuilt(tmp_path, aws):
    empty = tmp_path / "empty"
    empty.mkdir()
    for out in (tmp_path / "new", empty):
        assert build_site.main(["--out", str(out)]) == 0
        assert (out / build_site.BUILT_MARKER).is_file()
    (empty / "stale.html").write_text("an old page")
    assert build_site.main(["--out", str(empty)]) == 0, "a site it built is replaced"
    assert not (empty / "stale.html").exists()

    aws.create_bucket(Bucket="site")
    uploaded = build_site.deploy(empty, "site", aws)
    assert uploaded and build_site.BUILT_MARKER not in uploaded
    keys = {item["Key"] for item in aws.list_objects_v2(Bucket="site")["Contents"]}
    assert not any(key.endswith(build_site.BUILT_MARKER) for key in keys)
