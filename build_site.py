"""Build the CoMNIST drawing site: one page set per language, rendered from ``site/`` with Jinja2.

    python build_site.py [--out build/site] [--api-url /api] [--site-url URL]
                         [--contributors-data data/contributors | --contributors-bucket NAME]
                         [--drawings-data data/drawings | --drawings-bucket NAME]
                         [--contact ADDRESS | --stage NAME] [--deploy s3://BUCKET]

A language is one message catalog, ``site/messages/<code>.json``. Static assets get content-hashed
names so they can be cached for a year; Open Graph images (1200x630) are drawn with Pillow. The
live letter guess uses the drawings store's current sanitizer model (else the starter model
shipped with the sanitizer, else no guess), exported per alphabet by
:func:`sanitizer.recognizer.export_recognizer`.

The contributors page lists approved names only (:mod:`comnist.contributors`), at most
``MAX_LISTED_NAMES``, and stays out of the service worker's precache, so that it can be
published again alone (:func:`publish_contributors_locally`, :func:`publish_contributors_to_bucket`)
whenever the maintainer decides on names, without rebuilding the site. The build's settings are
kept beside it in ``site-settings.json`` (public values only: URLs and the contact address) for
that page-only path.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from PIL import Image, ImageDraw, ImageFont

from chalicelib.alphabets import alphabets
from chalicelib.mediatypes import content_type
from chalicelib.storage import LocalStorage, S3Storage, Storage, etag_of
from chalicelib.validation import EMAIL

SITE_DIR = Path(__file__).resolve().parent / "site"
DEFAULT_OUT = Path("build/site")
SETTINGS_FILE = "site-settings.json"
CHALICE_CONFIG = Path(__file__).resolve().parent / "collector" / ".chalice" / "config.json"
# Enough to thank a community, small enough for a phone: 1,000 names are about 40 KB a page.
MAX_LISTED_NAMES = 1000
CONTRIBUTORS_PAGE = "contributors.html"
# The first reward comes with the first letter, the next ones quickly, then one every 25 letters.
LEVELS = [1, 3, 10, 25, 50, 75, 100, 125]
GOAL = 1000
PAGES = {
    "draw": "index.html",
    "thanks": "thanks.html",
    "contributors": "contributors.html",
    "about": "about.html",
}
OG_LOCALES = {"de": "de_DE", "en": "en_GB", "fr": "fr_FR", "ru": "ru_RU", "zh": "zh_CN"}
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
]
# Hand-drawn-looking capitals for the sharing card, as strokes in a 100x100 box.
CARD_LETTERS = {
    "Ж": [
        [(10, 10), (40, 50), (10, 90)],
        [(50, 8), (50, 92)],
        [(90, 10), (60, 50), (90, 90)],
        [(40, 50), (60, 50)],
    ],
    "A": [[(12, 92), (50, 8), (88, 92)], [(28, 60), (72, 60)]],
    "Я": [
        [
            (80, 92),
            (80, 8),
            (42, 8),
            (29, 11),
            (21, 20),
            (19, 31),
            (23, 42),
            (33, 50),
            (45, 52),
            (80, 52),
        ],
        [(52, 52), (18, 92)],
    ],
}


def load_catalogs(site_dir: Path = SITE_DIR) -> dict[str, dict[str, Any]]:
    """Every message catalog, keyed by language code, with English filling any missing key."""
    catalogs = {
        p.stem: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((site_dir / "messages").glob("*.json"))
    }
    english = catalogs.get("en", {})
    return {code: {**english, **messages} for code, messages in catalogs.items()}


def write_asset(out_dir: Path, name: str, data: bytes) -> str:
    """Write ``data`` under a content-hashed name in ``assets/``; return its URL path."""
    stem, dot, suffix = name.partition(".")
    digest = hashlib.sha256(data).hexdigest()[:10]
    hashed = f"{stem}.{digest}{dot}{suffix}"
    (out_dir / "assets").mkdir(parents=True, exist_ok=True)
    (out_dir / "assets" / hashed).write_bytes(data)
    return f"/assets/{hashed}"


def hash_assets(site_dir: Path, out_dir: Path) -> dict[str, str]:
    """Copy static files under content-hashed names; return ``{name: "/assets/hashed-name"}``."""
    return {
        path.name: write_asset(out_dir, path.name, path.read_bytes())
        for path in sorted((site_dir / "static").iterdir())
    }


def site_model(store: Storage | None) -> Any:
    """The letter model the site's guess uses: the store's current one, else the starter model.

    ``None`` (no guess on the site) when neither exists.
    """
    from chalicelib.sanitizing import model_in_force
    from sanitizer import starter_model

    return model_in_force(store) if store is not None else starter_model()


def recognizer_config(model: Any, out_dir: Path, assets: dict[str, str]) -> dict[str, Any] | None:
    """Write each alphabet's compact letter model; the page config that loads them, or ``None``."""
    from sanitizer.recognizer import export_recognizer

    if model is None:
        return None
    models = {}
    for alphabet in alphabets():
        data = export_recognizer(model, alphabet)
        if data:
            models[alphabet] = write_asset(out_dir, f"letters-{alphabet}.bin", data)
    return {"script": assets["recognizer.js"], "models": models} if models else None


def contributor_names(store: Storage | None) -> list[str]:
    """Names the maintainer approved, of contributors who consented, first approved first."""
    from comnist.contributors import approved_names, read_contributors

    return approved_names(read_contributors(store)) if store is not None else []


def listed_names(names: list[str]) -> dict[str, Any]:
    """What the contributors page shows: the first ``MAX_LISTED_NAMES`` names, sorted, and how many more."""
    shown = sorted(names[:MAX_LISTED_NAMES], key=str.casefold)
    return {"names": shown, "more_names": max(0, len(names) - MAX_LISTED_NAMES)}


# Where the page puts its own share text (with the count and level) in a share link's template.
SHARE_TEXT_SLOT = "{text}"


def gallery_config(
    out_dir: Path, assets: dict[str, str], gallery_dir: Path
) -> dict[str, Any] | None:
    """Write the reveal's gallery sheets as assets; the page config that loads them lazily."""
    index_path = gallery_dir / "gallery.json"
    if not index_path.is_file():
        return None
    index = json.loads(index_path.read_text(encoding="utf-8"))
    sheets = {}
    for alphabet, entry in index["alphabets"].items():
        url = write_asset(
            out_dir, f"gallery-{alphabet}.png", (gallery_dir / f"{alphabet}.png").read_bytes()
        )
        sheets[alphabet] = {"url": url, "letters": entry["letters"], "counts": entry["counts"]}
    return {"script": assets["reveal.js"], "cell": index["cell"], "sheets": sheets}


def share_links(page_url: str, text: str) -> list[tuple[str, str]]:
    """Plain share URLs: no third-party script is ever loaded."""
    url = quote(page_url, safe="")
    message = quote(text, safe="")
    return [
        ("Facebook", f"https://www.facebook.com/sharer/sharer.php?u={url}"),
        ("VK", f"https://vk.com/share.php?{urlencode({'url': page_url, 'title': text})}"),
        ("LinkedIn", f"https://www.linkedin.com/sharing/share-offsite/?url={url}"),
        ("Telegram", f"https://t.me/share/url?url={url}&text={message}"),
        ("X", f"https://twitter.com/intent/tweet?url={url}&text={message}"),
        ("WhatsApp", f"https://wa.me/?text={quote(text + ' ' + page_url, safe='')}"),
    ]


def _font(size: int, text: str = "") -> ImageFont.ImageFont:
    """The first system font that can write ``text`` (Cyrillic, CJK...); nothing is ever downloaded."""
    fonts = [ImageFont.truetype(c, size) for c in FONT_CANDIDATES if Path(c).is_file()]
    for font in fonts:
        if _drawable(text, font):
            return font
    return fonts[0] if fonts else ImageFont.load_default(size=size)


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int, width: int = 1080) -> ImageFont.ImageFont:
    """The largest font up to ``size`` that fits ``text`` on the card: catalogs vary in length."""
    font = _font(size, text)
    while size > 16 and draw.textlength(text, font=font) > width:
        size -= 2
        font = _font(size, text)
    return font


def _drawable(text: str, font: ImageFont.ImageFont) -> bool:
    """Whether ``font`` has a glyph for every character of ``text`` (missing ones share one box)."""
    if not isinstance(font, ImageFont.FreeTypeFont):
        return text.isascii()
    missing = bytes(font.getmask("\uffff"))
    return all(ch.isspace() or bytes(font.getmask(ch)) != missing for ch in text)


def draw_card_letter(
    draw: ImageDraw.ImageDraw,
    strokes: list[list[tuple[int, int]]],
    box: tuple[float, float, float],
    colour: str,
    width: int,
) -> None:
    """Draw one of :data:`CARD_LETTERS` into the square ``(left, top, side)`` with round ends."""
    left, top, side = box
    for stroke in strokes:
        points = [(left + x * side / 100, top + y * side / 100) for x, y in stroke]
        draw.line(points, fill=colour, width=width, joint="curve")
        r = width / 2
        for x, y in (points[0], points[-1]):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)


def render_og_image(messages: dict[str, Any], path: Path, fallback: dict[str, Any]) -> None:
    """Draw the 1200x630 sharing card: three hand-drawn letters, the headline and the tagline.

    A language no system font can write (Chinese without a CJK font) gets ``fallback``'s words
    on its card rather than rows of empty boxes.
    """
    words = messages["og_headline"] + messages["og_tagline"]
    if not _drawable(words, _font(34, words)):
        messages = fallback
    card = Image.new("RGB", (1200, 630), "#fafaf7")
    draw = ImageDraw.Draw(card)
    for i, strokes in enumerate(CARD_LETTERS.values()):
        left, top, size = 70 + i * 215, 80, 170
        draw.rounded_rectangle(
            (left - 10, top - 10, left + size + 10, top + size + 10), 18, outline="#111", width=4
        )
        draw_card_letter(draw, strokes, (left, top, size), "#111", 12)
    draw.text((60, 330), "CoMNIST", font=_font(96), fill="#0b5cad")
    draw.text(
        (60, 450),
        messages["og_headline"],
        font=_fit(draw, messages["og_headline"], 54),
        fill="#111",
    )
    draw.text(
        (60, 530),
        messages["og_tagline"],
        font=_fit(draw, messages["og_tagline"], 34),
        fill="#4a4a4a",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    card.save(path, "PNG", optimize=True)


def render_icons(out_dir: Path) -> list[str]:
    """The app icons (192 and 512 px): a hand-drawn Ж in white on the site's blue."""
    paths = []
    for size in (192, 512):
        icon = Image.new("RGB", (size, size), "#0b5cad")
        draw = ImageDraw.Draw(icon)
        box = (size * 0.2, size * 0.2, size * 0.6)
        draw_card_letter(draw, CARD_LETTERS["Ж"], box, "#fff", round(size / 14))
        path = out_dir / "icons" / f"icon-{size}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        icon.save(path, "PNG", optimize=True)
        paths.append(f"/icons/{path.name}")
    return paths


def web_manifest(lang: str, messages: dict[str, Any], icons: list[str]) -> dict[str, Any]:
    """The language's web app manifest: the site installs and opens on its drawing page."""
    return {
        "name": messages["title"],
        "short_name": "CoMNIST",
        "description": messages["description"],
        "lang": lang,
        "start_url": f"/{lang}/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#fafaf7",
        "theme_color": "#0b5cad",
        "icons": [
            {"src": src, "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any"}
            for src, size in zip(icons, (192, 512), strict=True)
        ],
    }


def write_service_worker(env: Environment, out_dir: Path, languages: list[str]) -> list[str]:
    """``/sw.js``, which precaches every page, asset and icon; returns the precached paths.

    Its cache is named after the content of what it holds, so every new build replaces it. The
    contributors page is left out: it grows with the names and is published again on its own.
    """
    files = [out_dir / "index.html"] + sorted(
        path
        for folder in ("assets", "icons", *languages)
        for path in (out_dir / folder).rglob("*")
        if path.is_file() and path.name != CONTRIBUTORS_PAGE
    )
    digest = hashlib.sha256()
    paths = []
    for path in files:
        relative = path.relative_to(out_dir).as_posix()
        digest.update(relative.encode() + b"\0" + path.read_bytes())
        paths.append("/" + relative.removesuffix("index.html"))
    source = env.get_template("sw.js").render(version=digest.hexdigest()[:12], precache=paths)
    (out_dir / "sw.js").write_text(source, encoding="utf-8")
    return paths


def client_config(
    lang: str,
    messages: dict[str, Any],
    api_url: str,
    share_url: str,
    recognizer: dict[str, Any] | None = None,
    gallery: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What the page script needs, embedded as JSON in each page."""
    return {
        "recognizer": recognizer,
        "gallery": gallery,
        "lang": lang,
        "alphabet": messages["alphabet"],
        "alphabets": {a.id: {"letters": list(a.letters)} for a in alphabets().values()},
        "api": api_url.rstrip("/"),
        "base": "",
        "goal": GOAL,
        "levels": LEVELS,
        "share_url": share_url,
        "messages": {k: v for k, v in messages.items() if not k.endswith("_body")},
    }


def _environment(site_dir: Path, assets: dict[str, str]) -> Environment:
    """Jinja2 with autoescape everywhere: contributor names are untrusted text."""
    env = Environment(
        loader=FileSystemLoader(site_dir / "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True),
    )
    env.globals["asset"] = lambda name: assets[name]
    return env


def _write(path: Path, html: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")


def language_context(lang: str, messages: dict[str, Any], shared: dict[str, Any]) -> dict[str, Any]:
    """What every page of one language is rendered with."""
    site_url = shared["site_url"]
    share_url = f"{site_url}/{lang}/"
    return {
        **shared,
        "lang": lang,
        "m": messages,
        "og_image_url": f"{site_url}/og/{lang}.png",
        "og_locale": OG_LOCALES.get(lang, lang),
        "config": client_config(
            lang, messages, shared["api_url"], share_url, shared["recognizer"], shared["gallery"]
        ),
        "first_letter": alphabets()[messages["alphabet"]].letters[0],
        # Each link with a template the page fills with the participant's count and level.
        "share_links": [
            (name, url, template)
            for (name, url), (_, template) in zip(
                share_links(share_url, messages["share_text"]),
                share_links(share_url, SHARE_TEXT_SLOT),
                strict=True,
            )
        ],
        "other_alphabet": "latin" if messages["alphabet"] == "cyrillic" else "cyrillic",
    }


def render_page(
    env: Environment, out_dir: Path, lang: str, page: str, context: dict[str, Any]
) -> Path:
    """Write one page of one language; return its path."""
    filename = PAGES[page]
    page_file = "" if filename == "index.html" else filename
    page_context = {
        **context,
        "page": page,
        "page_file": page_file,
        "page_url": f"{context['site_url']}/{lang}/{page_file}",
    }
    if page == "contributors":
        # Published again alone, without the build's letter model or gallery: the page draws nothing.
        page_context["config"] = {**context["config"], "recognizer": None, "gallery": None}
    path = out_dir / lang / filename
    _write(path, env.get_template(f"{page}.html").render(page_context))
    return path


def render_language(
    env: Environment, out_dir: Path, lang: str, messages: dict[str, Any], shared: dict[str, Any]
) -> None:
    """Write one language's pages under ``out_dir/<lang>/`` and its sharing card."""
    render_og_image(messages, out_dir / "og" / f"{lang}.png", shared["fallback_messages"])
    context = language_context(lang, messages, shared)
    for page in PAGES:
        render_page(env, out_dir, lang, page, context)


# Written into every site this script builds: only such a folder (or an empty one) is replaced.
BUILT_MARKER = ".comnist-site"


class NotASite(ValueError):
    """The output folder holds something this script did not build."""


def check_out_dir(out_dir: Path) -> None:
    """Refuse to replace a folder that is neither empty nor a site this script built.

    The build empties its output folder first; pointed at the wrong one (``make run SITE=data``)
    it would delete a collection.
    """
    if not out_dir.exists() or (out_dir / BUILT_MARKER).is_file():
        return
    if not out_dir.is_dir() or any(out_dir.iterdir()):
        raise NotASite(
            f"{out_dir} is not empty and is not a site build_site.py built; "
            "nothing was changed: give --out a new or empty folder, or remove it yourself"
        )


def build(
    out_dir: Path,
    api_url: str = "/api",
    site_url: str = "http://127.0.0.1:8000",
    contributors_store: Storage | None = None,
    downloads_url: str = "https://github.com/GregVial/CoMNIST",
    site_dir: Path = SITE_DIR,
    model: Any = None,
    contact: str | None = None,
) -> Path:
    """Render the whole site into ``out_dir`` (emptied first, so no stale page lingers); return it."""
    settings = site_settings(site_url, api_url, downloads_url, contact)
    check_out_dir(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    (out_dir / BUILT_MARKER).write_text("built by build_site.py; --out may replace this folder\n")
    catalogs = load_catalogs(site_dir)
    assets = hash_assets(site_dir, out_dir)
    env = _environment(site_dir, assets)
    languages = sorted(catalogs)
    english = catalogs.get("en", next(iter(catalogs.values())))
    shared = {
        **shared_context(settings, languages, english),
        **listed_names(contributor_names(contributors_store)),
        "recognizer": recognizer_config(model, out_dir, assets),
        "gallery": gallery_config(out_dir, assets, site_dir / "gallery"),
    }
    site_url = settings["site_url"]
    icons = render_icons(out_dir)
    for lang, messages in catalogs.items():
        render_language(env, out_dir, lang, messages, shared)
        manifest = json.dumps(web_manifest(lang, messages, icons), ensure_ascii=False, indent=1)
        (out_dir / lang / "manifest.webmanifest").write_text(manifest, encoding="utf-8")
    root_context = {
        **shared,
        "m": english,
        "language_names": [(code, catalogs[code]["language_name"]) for code in languages],
        "og_image_url": f"{site_url}/og/en.png",
    }
    _write(out_dir / "index.html", env.get_template("root.html").render(root_context))
    _write(out_dir / "404.html", env.get_template("404.html").render(root_context))
    write_service_worker(env, out_dir, languages)
    (out_dir / SETTINGS_FILE).write_text(json.dumps(settings, indent=1) + "\n", encoding="utf-8")
    return out_dir


def site_settings(
    site_url: str, api_url: str, downloads_url: str, contact: str | None
) -> dict[str, Any]:
    """The build's settings that every page shows; kept with the built site for page-only builds."""
    return {
        "site_url": site_url.rstrip("/"),
        "api_url": api_url,
        "downloads_url": downloads_url,
        "contact": contact or None,
    }


def shared_context(
    settings: dict[str, Any], languages: list[str], english: dict[str, Any]
) -> dict[str, Any]:
    """What the pages of every language share, from the build's settings."""
    return {
        "site_url": settings["site_url"],
        "api_url": settings["api_url"],
        "base": "",
        "languages": languages,
        "downloads_url": settings["downloads_url"],
        "contact": settings.get("contact"),
        "fallback_messages": english,
        "recognizer": None,
        "gallery": None,
    }


def render_contributors_pages(
    out_dir: Path, names: list[str], settings: dict[str, Any], site_dir: Path = SITE_DIR
) -> list[Path]:
    """Render the contributors page of every language, and the assets it links, into ``out_dir``.

    The same page a full build writes, from the built site's settings: nothing else is rebuilt.
    """
    catalogs = load_catalogs(site_dir)
    assets = hash_assets(site_dir, out_dir)
    env = _environment(site_dir, assets)
    languages = sorted(catalogs)
    english = catalogs.get("en", next(iter(catalogs.values())))
    shared = {**shared_context(settings, languages, english), **listed_names(names)}
    return [
        render_page(env, out_dir, lang, "contributors", language_context(lang, messages, shared))
        for lang, messages in catalogs.items()
    ]


def publish_contributors_locally(site: Path, names: list[str]) -> list[Path]:
    """Replace the contributors pages of the built site ``site`` (served as they are, by ``comnist serve``)."""
    import tempfile

    settings = json.loads((site / SETTINGS_FILE).read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(dir=site, prefix=".contributors-") as tmp:
        written = render_contributors_pages(Path(tmp), names, settings)
        for path in sorted(Path(tmp).rglob("*")):
            if path.is_file():
                target = site / path.relative_to(tmp)
                target.parent.mkdir(parents=True, exist_ok=True)
                path.replace(target)  # atomic: a reader sees the old page or the new one
        return [site / path.relative_to(tmp) for path in written]


def publish_contributors_to_bucket(
    bucket: str, names: list[str], s3: Any = None, cloudfront: Any = None
) -> list[str]:
    """Render the contributors pages from the site bucket's settings, upload what changed, invalidate it.

    Returns the keys uploaded. Earlier versions of the pages are erased, should the site bucket
    keep versions: a name taken off the page must not stay behind in the bucket.
    """
    import tempfile

    import boto3

    s3 = s3 or boto3.client("s3")
    settings = json.loads(S3Storage(bucket, s3).get(SETTINGS_FILE).data)
    with tempfile.TemporaryDirectory() as tmp:
        render_contributors_pages(Path(tmp), names, settings)
        uploaded = deploy(Path(tmp), bucket, s3)
    site = S3Storage(bucket, s3)
    for key in uploaded:
        if key.endswith(CONTRIBUTORS_PAGE):
            _erase_older_versions(site, key)
    invalidate(cloudfront or boto3.client("cloudfront"), bucket, uploaded)
    return uploaded


def _erase_older_versions(store: S3Storage, key: str) -> None:
    """Delete every version of ``key`` but the current one (nothing on an unversioned bucket)."""
    paginator = store.client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=store.bucket, Prefix=key):
        for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            if item["Key"] == key and not item.get("IsLatest") and item["VersionId"] != "null":
                store.client.delete_object(
                    Bucket=store.bucket, Key=key, VersionId=item["VersionId"]
                )


def stage_contact(stage: str, config_path: Path = CHALICE_CONFIG) -> str | None:
    """The contact address ``comnist bootstrap --contact`` recorded for ``stage``."""
    try:
        config = json.loads(config_path.read_text())
    except (OSError, ValueError):
        return None
    stage_config = config.get("stages", {}).get(stage, {})
    return stage_config.get("environment_variables", {}).get("COMNIST_CONTACT") or None


def cache_control(relative: str) -> str:
    """Hashed assets never change under their name; pages and cards must update within minutes."""
    return IMMUTABLE if relative.startswith("assets/") else SHORT


def _stored_etags(client: Any, bucket: str) -> dict[str, str]:
    """``key -> ETag`` of every object in the bucket."""
    etags: dict[str, str] = {}
    args = {"Bucket": bucket}
    while True:
        page = client.list_objects_v2(**args)
        etags.update({item["Key"]: item["ETag"] for item in page.get("Contents", [])})
        if not page.get("IsTruncated"):
            return etags
        args["ContinuationToken"] = page["NextContinuationToken"]


def deploy(out_dir: Path, bucket: str, client: Any = None) -> list[str]:
    """Upload what changed in a built site to its S3 bucket; return the keys uploaded.

    CloudFront reads the private bucket by key, so each ``<dir>/index.html`` is also stored
    as ``<dir>/``: the key a link to ``/<dir>/`` asks for.
    """
    if client is None:
        import boto3

        client = boto3.client("s3")
    stored = _stored_etags(client, bucket)
    # Assets and cards first: a page must never go live before the files it refers to.
    files = sorted(
        (p for p in out_dir.rglob("*") if p.is_file() and p.name != BUILT_MARKER),
        key=lambda p: (p.suffix == ".html", p),
    )
    uploaded = []
    for path in files:
        relative = path.relative_to(out_dir).as_posix()
        data = path.read_bytes()
        etag = etag_of(data)
        keys = [relative]
        if path.name == "index.html" and "/" in relative:
            keys.append(relative[: -len("index.html")])
        for key in keys:
            if stored.get(key) == etag:
                continue
            client.put_object(
                Bucket=bucket,
                Key=key,
                Body=data,
                ContentType=content_type(path.name),
                CacheControl=cache_control(relative),
            )
            uploaded.append(key)
    return uploaded


# More changed paths than this are invalidated as one wildcard (CloudFront bills per path).
MAX_INVALIDATION_PATHS = 40


def invalidate(cloudfront: Any, bucket: str, keys: list[str]) -> str | None:
    """Have the site's CloudFront distribution drop the changed pages; return the invalidation id.

    Hashed assets are new names when they change, so only other keys are invalidated; the root
    page is also ``/``. Returns ``None`` when nothing needs it or no distribution serves ``bucket``.
    """
    from comnist.cloud import find_site_distribution

    paths = sorted({f"/{key}" for key in keys if not key.startswith("assets/")})
    if "/index.html" in paths:
        paths.append("/")
    distribution = find_site_distribution(cloudfront, bucket) if paths else None
    if distribution is None:
        return None
    if len(paths) > MAX_INVALIDATION_PATHS:
        paths = ["/*"]
    answer = cloudfront.create_invalidation(
        DistributionId=distribution["Id"],
        InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": paths},
            # Unique per deploy: a reused reference would answer with an older invalidation.
            "CallerReference": f"comnist-site-{time.time_ns()}",
        },
    )
    return answer["Invalidation"]["Id"]


def main(argv: list[str] | None = None) -> int:
    """The command line: build, then upload with ``--deploy``; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--api-url", default="/api", help="the collector API's base URL")
    parser.add_argument(
        "--site-url", default="http://127.0.0.1:8000", help="the site's public URL, for sharing"
    )
    parser.add_argument("--downloads-url", default="https://github.com/GregVial/CoMNIST")
    contacts = parser.add_mutually_exclusive_group()
    contacts.add_argument(
        "--contact", help="the maintainer's address, shown on the privacy page for erasure requests"
    )
    contacts.add_argument(
        "--stage", help="take --contact from this stage (comnist bootstrap --contact)"
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--contributors-data", type=Path, help="local contributors store (data/contributors)"
    )
    group.add_argument("--contributors-bucket", help="the contributors bucket on S3")
    models = parser.add_mutually_exclusive_group()
    models.add_argument(
        "--drawings-data", type=Path, help="local drawings store whose current model guesses"
    )
    models.add_argument("--drawings-bucket", help="the drawings bucket whose current model guesses")
    parser.add_argument(
        "--deploy",
        metavar="s3://BUCKET",
        help="upload what changed to this bucket and invalidate it on its CloudFront distribution",
    )
    args = parser.parse_args(argv)
    store: Storage | None = None
    if args.contributors_bucket:
        store = S3Storage(args.contributors_bucket)
    elif args.contributors_data and args.contributors_data.is_dir():
        store = LocalStorage(args.contributors_data)
    drawings: Storage | None = None
    if args.drawings_bucket:
        drawings = S3Storage(args.drawings_bucket)
    elif args.drawings_data and args.drawings_data.is_dir():
        drawings = LocalStorage(args.drawings_data)
    try:
        check_out_dir(args.out)
    except NotASite as refusal:
        parser.error(str(refusal))
    model = site_model(drawings)
    contact = args.contact or (stage_contact(args.stage) if args.stage else None)
    if contact and not EMAIL.fullmatch(contact):
        parser.error(f"--contact takes an e-mail address, not {contact!r}")
    out = build(
        args.out,
        args.api_url,
        args.site_url,
        store,
        args.downloads_url,
        model=model,
        contact=contact,
    )
    print(f"letter guess: {'model ' + model.version if model else 'none (no model yet)'}")
    print(f"built the site in {out}")
    if args.deploy:
        if not args.deploy.startswith("s3://"):
            parser.error("--deploy takes s3://BUCKET")
        import boto3

        bucket = args.deploy[5:].strip("/")
        uploaded = deploy(out, bucket, boto3.client("s3"))
        print(f"uploaded {len(uploaded)} changed files to {args.deploy}")
        invalidation = invalidate(boto3.client("cloudfront"), bucket, uploaded)
        if invalidation:
            print(f"CloudFront invalidation {invalidation} drops the changed pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
