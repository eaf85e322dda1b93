"""``build_site.py``: pages per language, sharing cards, the contributors page and the S3 upload."""

from __future__ import annotations

import json
import re
import shutil

import boto3
import moto  # noqa: F401  (moto before boto3)
import pytest
from PIL import Image

import build_site
from chalicelib.storage import LocalStorage, S3Storage
from comnist.contributors import APPROVED, decide, find, read_contributors


def approve(store, *sessions):
    """The maintainer approves the names of ``sessions``."""
    everyone = read_contributors(store)
    for session in sessions:
        decide(store, find(everyone, session), APPROVED)


@pytest.fixture
def contributors(tmp_path):
    store = LocalStorage(tmp_path / "contributors")
    people = [
        ("11111111-1111-4111-8111-111111111111", "Zoë <b>bold</b>", True, "zoe@example.org"),
        ("22222222-2222-4222-8222-222222222222", "Hidden Person", False, "hidden@example.org"),
        ("33333333-3333-4333-8333-333333333333", "Анна", True, None),
        ("44444444-4444-4444-8444-444444444444", "Анна", True, None),
    ]
    for session, name, consent, email in people:
        store.put_json(
            f"contributors/{session}.json",
            {
                "session": session,
                "name": name,
                "email": email,
                "consent": {"thanks_page": consent, "updates": bool(email)},
                "count": 3,
            },
        )
    approve(store, *(session for session, _, consent, _ in people if consent))
    return store


def test_every_language_gets_its_pages_cards_and_config(tmp_path):
    out = build_site.build(
        tmp_path / "site",
        api_url="https://api.example.org/api",
        site_url="https://draw.example.org",
    )
    languages = sorted(p.stem for p in (build_site.SITE_DIR / "messages").glob("*.json"))
    assert {"en", "fr", "ru"} <= set(languages)
    for lang in languages:
        for filename in build_site.PAGES.values():
            html = (out / lang / filename).read_text()
            assert f'<html lang="{lang}">' in html
            assert f'content="https://draw.example.org/og/{lang}.png"' in html
            assert 'name="twitter:card" content="summary_large_image"' in html
        config = json.loads(
            re.search(
                r'<script id="config" type="application/json">(.*?)</script>',
                (out / lang / "index.html").read_text(),
            ).group(1)
        )
        assert config["api"] == "https://api.example.org/api"
        assert config["alphabet"] == ("cyrillic" if lang == "ru" else "latin")
        assert len(config["alphabets"]["cyrillic"]["letters"]) == 33
        with Image.open(out / "og" / f"{lang}.png") as card:
            assert card.size == (1200, 630)
    assert "Нарисуйте заглавную букву" in (out / "ru" / "index.html").read_text()
    # Hashed asset names let browsers keep them for a year.
    assets = sorted(p.name for p in (out / "assets").iterdir())
    assert all(re.fullmatch(r"[\w-]+\.[0-9a-f]{10}\.(js|css|png)", name) for name in assets)
    assert {"gallery-cyrillic", "gallery-latin"} <= {name.split(".")[0] for name in assets}
    html = (out / "en" / "index.html").read_text()
    assert not re.search(r'(src|href)="https?://(?!draw\.example\.org)[^"]*\.(js|css)"', html), (
        "no third-party assets"
    )


def test_contributors_page_shows_consenting_names_only_escaped(tmp_path, contributors):
    out = build_site.build(tmp_path / "site", contributors_store=contributors)
    html = (out / "en" / "contributors.html").read_text()
    assert "Zoë &lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html
    assert "Hidden Person" not in html
    assert html.count("<li>Анна</li>") == 1
    for page in out.rglob("*.html"):
        text = page.read_text()
        assert "zoe@example.org" not in text and "hidden@example.org" not in text


def test_deploy_uploads_with_types_caching_and_directory_pages(tmp_path, aws):
    out = build_site.build(tmp_path / "site")
    s3 = aws
    s3.create_bucket(Bucket="site-bucket")
    uploaded = build_site.deploy(out, "site-bucket", s3)
    files = [p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()]
    assert build_site.BUILT_MARKER in files, "the marker stays local"
    files.remove(build_site.BUILT_MARKER)
    directories = [f[: -len("index.html")] for f in files if f.endswith("/index.html")]
    assert sorted(uploaded) == sorted(files + directories) and "ru/" in directories
    ru = s3.get_object(Bucket="site-bucket", Key="ru/")
    assert ru["ContentType"] == "text/html; charset=utf-8"
    assert ru["Body"].read() == (out / "ru" / "index.html").read_bytes()
    page = s3.head_object(Bucket="site-bucket", Key="ru/index.html")
    assert page["ContentType"] == "text/html; charset=utf-8"
    assert "max-age=300" in page["CacheControl"]
    script = next(
        k["Key"]
        for k in s3.list_objects_v2(Bucket="site-bucket", Prefix="assets/")["Contents"]
        if k["Key"].endswith(".js")
    )
    head = s3.head_object(Bucket="site-bucket", Key=script)
    assert head["ContentType"].startswith("text/javascript") or head["ContentType"].startswith(
        "application/javascript"
    )
    assert head["CacheControl"] == "public, max-age=31536000, immutable"
    assert s3.head_object(Bucket="site-bucket", Key="og/en.png")["ContentType"] == "image/png"

    page = out / "fr" / "about.html"
    page.write_text(page.read_text() + "<!-- changed -->")
    assert build_site.deploy(out, "site-bucket", s3) == ["fr/about.html"], "only what changed"


def test_a_deploy_has_the_sites_distribution_drop_the_changed_pages(tmp_path, aws):
    from comnist.cloud import site_distribution_config

    cloudfront = boto3.client("cloudfront")
    assert build_site.invalidate(cloudfront, "site-bucket", ["en/index.html"]) is None, (
        "no distribution serves the bucket"
    )
    config = site_distribution_config("test", "site-bucket", "us-east-1", "oac-id")
    distribution = cloudfront.create_distribution(DistributionConfig=config)["Distribution"]

    def invalidated(keys: list[str]) -> list[str]:
        invalidation = build_site.invalidate(cloudfront, "site-bucket", keys)
        answer = cloudfront.get_invalidation(DistributionId=distribution["Id"], Id=invalidation)
        return sorted(answer["Invalidation"]["InvalidationBatch"]["Paths"]["Items"])

    changed = ["assets/app.0123456789.js", "en/index.html", "en/", "index.html", "og/en.png"]
    assert invalidated(changed) == ["/", "/en/", "/en/index.html", "/index.html", "/og/en.png"]
    assert build_site.invalidate(cloudfront, "site-bucket", ["assets/app.1.js"]) is None
    many = [f"page{i}.html" for i in range(build_site.MAX_INVALIDATION_PATHS + 1)]
    assert invalidated(many) == ["/*"]


def test_a_new_language_is_one_catalog_file(tmp_path):
    site_dir = tmp_path / "src"
    shutil.copytree(build_site.SITE_DIR, site_dir)
    (site_dir / "messages" / "it.json").write_text(
        json.dumps(
            {
                "language_name": "Italiano",
                "alphabet": "latin",
                "prompt": "Disegna la lettera maiuscola",
                "og_headline": "Disegna una lettera per la scienza",
            }
        ),
        encoding="utf-8",
    )
    out = build_site.build(tmp_path / "site", site_dir=site_dir)
    html = (out / "it" / "index.html").read_text()
    assert '<html lang="it">' in html and "Disegna la lettera maiuscola" in html
    assert 'data-testid="finish" disabled>Finish<' in html, "missing messages fall back to English"
    assert 'href="/it/"' in (out / "index.html").read_text()
    assert 'hreflang="it"' in (out / "ru" / "index.html").read_text()
    with Image.open(out / "og" / "it.png") as card:
        assert card.size == (1200, 630)


def test_root_page_picks_a_language_and_links_to_all(tmp_path):
    out = build_site.build(tmp_path / "site")
    html = (out / "index.html").read_text()
    for lang in ("en", "fr", "ru"):
        assert f'<a href="/{lang}/" lang="{lang}"' in html
    # The language choice is a file of the site: a strict CSP allows no inline script.
    (script,) = re.findall(r'<script src="(/assets/root\.[0-9a-f]{10}\.js)"></script>', html)
    code = (out / script.lstrip("/")).read_text()
    assert "navigator.languages" in code and "location.search" in code
    assert 'data-languages="de en fr ru zh"' in html
    assert not re.search(r"<script>|style=", html)
    assert (out / "404.html").is_file()


def test_no_page_has_an_inline_script_or_style(tmp_path):
    out = build_site.build(tmp_path / "site")
    for page in out.rglob("*.html"):
        html = page.read_text()
        inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
        assert inline == [], f"{page.relative_to(out)}: {inline}"
        assert not re.search(r"\sstyle=|<style", html), page.relative_to(out)


def test_thanks_page_shares_with_plain_links_only(tmp_path):
    out = build_site.build(tmp_path / "site", site_url="https://draw.example.org")
    html = (out / "ru" / "thanks.html").read_text()
    page = "https%3A%2F%2Fdraw.example.org%2Fru%2F"
    for prefix in (
        f"https://www.facebook.com/sharer/sharer.php?u={page}",
        "https://vk.com/share.php?url=https%3A%2F%2Fdraw.example.org%2Fru%2F&amp;title=",
        f"https://www.linkedin.com/sharing/share-offsite/?url={page}",
        f"https://t.me/share/url?url={page}&amp;text=",
        f"https://twitter.com/intent/tweet?url={page}&amp;text=",
        "https://wa.me/?text=",
    ):
        assert f'href="{prefix}' in html, prefix
    scripts = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", html)
    assert scripts and all(src.startswith("/assets/") for src in scripts), scripts


def _luminance(colour: str) -> float:
    if len(colour) == 4:
        colour = "#" + "".join(c * 2 for c in colour[1:])
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_text_colours_have_enough_contrast():
    css = (build_site.SITE_DIR / "static" / "style.css").read_text()
    colours = dict(re.findall(r"--(\w+):\s*(#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3})\b", css))
    pairs = [
        ("ink", "bg"),
        ("muted", "bg"),
        ("accent", "bg"),
        ("accent", "#ffffff"),  # links and share buttons on white, white text on blue buttons
        ("ink", "#fff7d6"),  # the licence notice
    ]
    for fg, bg in pairs:
        ratio = contrast(colours.get(fg, fg), colours.get(bg, bg))
        assert ratio >= 4.5, f"{fg} on {bg}: {ratio:.2f}"
    assert ":focus-visible" in css and "outline" in css


def test_command_line_builds_from_the_local_store_and_deploys(tmp_path, monkeypatch, contributors):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    out = tmp_path / "site"
    with moto.mock_aws():
        boto3.client("s3").create_bucket(Bucket="draw-site")
        code = build_site.main(
            [
                "--out",
                str(out),
                "--api-url",
                "https://api.example.org/api/",
                "--contributors-data",
                str(tmp_path / "contributors"),
                "--deploy",
                "s3://draw-site",
            ]
        )
        assert code == 0
        page = boto3.client("s3").get_object(Bucket="draw-site", Key="fr/contributors.html")
        html = page["Body"].read().decode()
    assert "Анна" in html and "Hidden Person" not in html
    assert '"api": "https://api.example.org/api"' in (out / "fr" / "index.html").read_text()


def test_deploy_puts_pages_live_only_after_their_assets(tmp_path):
    class Recorder:
        def __init__(self) -> None:
            self.keys: list[str] = []

        def put_object(self, **kwargs) -> None:
            self.keys.append(kwargs["Key"])

        def list_objects_v2(self, **kwargs) -> dict:
            return {"Contents": []}

    out = build_site.build(tmp_path / "site")
    client = Recorder()
    build_site.deploy(out, "site-bucket", client)
    first_page = min(i for i, key in enumerate(client.keys) if key.endswith(".html"))
    assert all(not key.endswith(".html") for key in client.keys[:first_page])
    assert {k for k in client.keys[:first_page] if k.startswith("assets/")} == {
        f"assets/{p.name}" for p in (out / "assets").iterdir()
    }


def test_shipped_catalogs_translate_every_message():
    catalogs = {
        p.stem: json.loads(p.read_text(encoding="utf-8"))
        for p in (build_site.SITE_DIR / "messages").glob("*.json")
    }
    english = catalogs["en"]
    for lang, messages in catalogs.items():
        assert set(messages) == set(english), f"{lang}: {set(english) ^ set(messages)}"
        assert len(messages["levels"]) == len(build_site.LEVELS)
        if lang != "en":
            same = [k for k in english if k != "levels" and messages[k] == english[k]]
            assert set(same) <= {"alphabet", "alphabet_latin", "alphabet_badge", "label_suffix"}, (
                f"{lang} leaves {same} in English"
            )


def test_contributors_page_from_the_s3_bucket_skips_broken_records(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="contributors")
        record = {
            "session": "55555555-5555-4555-8555-555555555555",
            "name": "Marie <Curie>",
            "email": "marie@example.org",
            "consent": {"thanks_page": True, "updates": True},
            "count": 7,
        }
        s3.put_object(
            Bucket="contributors",
            Key=f"contributors/{record['session']}.json",
            Body=json.dumps(record).encode(),
        )
        s3.put_object(Bucket="contributors", Key="contributors/broken.json", Body=b"{not json")
        approve(S3Storage("contributors", s3), record["session"])
        out = tmp_path / "site"
        assert build_site.main(["--out", str(out), "--contributors-bucket", "contributors"]) == 0
    html = (out / "ru" / "contributors.html").read_text()
    assert "<li>Marie &lt;Curie&gt;</li>" in html
    assert "marie@example.org" not in html


def test_textual_files_are_served_with_their_charset_and_images_without():
    from chalicelib.mediatypes import content_type

    for name in ("index.html", "style.css", "app.js", "messages.json", "logo.svg"):
        assert content_type(name).endswith("; charset=utf-8"), name
    assert content_type("og-ru.png") == "image/png"
    assert content_type("unknown.bin-ish") == "application/octet-stream"


def test_the_committed_gallery_has_a_row_of_drawings_for_every_letter():
    """``make gallery`` output as shipped: each letter's row holds as many drawings as it says."""
    import json

    import numpy as np

    import site_gallery
    from chalicelib.alphabets import alphabets

    index = json.loads((site_gallery.GALLERY_DIR / "gallery.json").read_text(encoding="utf-8"))
    cell = index["cell"]
    assert "CC BY-SA 4.0" in index["credit"]
    for alphabet in alphabets().values():
        entry = index["alphabets"][alphabet.id]
        assert entry["letters"] == "".join(alphabet.letters)
        with Image.open(site_gallery.GALLERY_DIR / f"{alphabet.id}.png") as sheet:
            assert sheet.size == (site_gallery.PER_LETTER * cell, len(alphabet.letters) * cell)
            pixels = np.asarray(sheet.convert("L"))
        for row, count in enumerate(entry["counts"]):
            for column in range(site_gallery.PER_LETTER):
                thumbnail = pixels[
                    row * cell : (row + 1) * cell, column * cell : (column + 1) * cell
                ]
                inked = int((thumbnail < 128).sum())
                assert (inked > 40) == (column < count), (alphabet.id, row, column, inked)
        assert sum(entry["counts"]) >= 2 * len(alphabet.letters), "a few drawings of each letter"


# --- the contributors page: approved names only, capped, published alone ---------------------------


def contributor(store, session, name, *, consent=True, email=None):
    store.put_json(
        f"contributors/{session}.json",
        {
            "session": session,
            "name": name,
            "email": email,
            "consent": {"thanks_page": consent, "updates": bool(email)},
            "count": 1,
        },
    )


def names_on(page) -> list[str]:
    listed = re.search(r'<ul class="names"[^>]*>(.*?)</ul>', page.read_text(), re.S)
    return re.findall(r"<li>(.*?)</li>", listed.group(1)) if listed else []


def test_only_names_the_maintainer_approved_reach_the_page(tmp_path):
    store = LocalStorage(tmp_path / "contributors")
    sessions = [f"{i}{i}{i}{i}{i}{i}{i}{i}-0000-4000-8000-000000000000" for i in range(1, 6)]
    for session, name in zip(sessions, ["Ann", "Bob", "Cleo", "Dan", "Eve"], strict=True):
        contributor(store, session, name)
    approve(store, sessions[0], sessions[1], sessions[2])
    decide(store, find(read_contributors(store), sessions[3]), "rejected")
    # Bob sends another name after the approval: it waits for a decision of its own.
    contributor(store, sessions[1], "Bob the Builder")
    # Cleo withdraws her consent to be named.
    contributor(store, sessions[2], "Cleo", consent=False)
    out = build_site.build(tmp_path / "site", contributors_store=store)
    for lang in ("en", "ru", "zh"):
        assert names_on(out / lang / "contributors.html") == ["Ann"]


def test_the_page_is_capped_and_says_how_many_more(tmp_path):
    names = [f"Person {i:04d}" for i in range(build_site.MAX_LISTED_NAMES + 5)]
    pages = build_site.render_contributors_pages(
        tmp_path, names, build_site.site_settings("https://d.example", "/api", "https://x", None)
    )
    html = (tmp_path / "en" / "contributors.html").read_text()
    assert len(pages) == len(build_site.load_catalogs()) and "Person 0000" in html
    assert len(names_on(tmp_path / "en" / "contributors.html")) == build_site.MAX_LISTED_NAMES
    assert "Person 1004" not in html and "… and 5 more." in html
    assert "… и ещё 5." in (tmp_path / "ru" / "contributors.html").read_text()


def test_the_page_is_not_precached_and_names_leave_the_service_worker_alone(tmp_path):
    store = LocalStorage(tmp_path / "contributors")
    out = build_site.build(tmp_path / "site", contributors_store=store)
    sw = (out / "sw.js").read_text()
    assert "/en/about.html" in sw and "contributors.html" not in sw
    contributor(store, "11111111-0000-4000-8000-000000000000", "Ann")
    approve(store, "11111111")
    again = build_site.build(tmp_path / "again", contributors_store=store)
    assert names_on(again / "en" / "contributors.html") == ["Ann"]
    assert (again / "sw.js").read_text() == sw, "a new name does not renew every visitor's cache"


def test_publishing_locally_replaces_the_contributors_pages_alone(tmp_path):
    store = LocalStorage(tmp_path / "contributors")
    site = build_site.build(tmp_path / "site", contributors_store=store, contact="m@example.org")
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    contributor(store, "11111111-0000-4000-8000-000000000000", "Ann <i>")
    approve(store, "11111111")
    names = ["Ann <i>"]
    written = build_site.publish_contributors_locally(site, names)
    assert sorted(written) == sorted(
        site / lang / "contributors.html" for lang in ("de", "en", "fr", "ru", "zh")
    )
    after = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    changed = {p for p in after if before.get(p) != after[p]}
    assert changed == set(written)
    # The very page a full build writes with the same names and settings.
    full = build_site.build(tmp_path / "full", contributors_store=store, contact="m@example.org")
    for lang in ("en", "ru"):
        assert (site / lang / "contributors.html").read_bytes() == (
            full / lang / "contributors.html"
        ).read_bytes()
    assert names_on(site / "en" / "contributors.html") == ["Ann &lt;i&gt;"]


def test_publishing_to_the_site_bucket_uploads_the_pages_and_erases_their_old_versions(
    tmp_path, aws
):
    aws.create_bucket(Bucket="site")
    aws.put_bucket_versioning(Bucket="site", VersioningConfiguration={"Status": "Enabled"})
    site = build_site.build(tmp_path / "site", site_url="https://draw.example.org")
    build_site.deploy(site, "site", aws)
    uploaded = build_site.publish_contributors_to_bucket("site", ["Ann"], aws)
    assert sorted(uploaded) == [
        f"{lang}/contributors.html" for lang in ("de", "en", "fr", "ru", "zh")
    ]
    page = aws.get_object(Bucket="site", Key="en/contributors.html")["Body"].read().decode()
    assert "<li>Ann</li>" in page and "https://draw.example.org/en/contributors.html" in page
    assert build_site.publish_contributors_to_bucket("site", [], aws) == uploaded
    versions = aws.list_object_versions(Bucket="site", Prefix="en/contributors.html")
    assert len(versions["Versions"]) == 1, "a name taken off the page leaves no copy behind"
    body = aws.get_object(Bucket="site", Key="en/contributors.html")["Body"].read().decode()
    assert "Ann" not in body
    assert build_site.publish_contributors_to_bucket("site", [], aws) == []


def test_the_privacy_page_names_the_contact_and_a_place_for_the_deletion_code(tmp_path):
    out = build_site.build(tmp_path / "site", contact="maintainer@example.org")
    for lang in ("de", "en", "fr", "ru", "zh"):
        html = (out / lang / "about.html").read_text()
        assert 'href="mailto:maintainer@example.org"' in html
        assert 'id="deletion-code"' in html
        assert 'id="deletion-code"' in (out / lang / "thanks.html").read_text()
    english = (out / "en" / "about.html").read_text()
    assert "not linked to your name" not in english and "deletion code" in english
    bare = build_site.build(tmp_path / "bare")
    assert "mailto:" not in (bare / "en" / "about.html").read_text()
    with pytest.raises(SystemExit):
        build_site.main(["--out", str(tmp_path / "x"), "--contact", "not an address"])
