"""``comnist publish RELEASE --repo OWNER/NAME``: upload a release's parquet form to the Hugging Face Hub.

The Hub's dataset viewer and ``load_dataset("OWNER/NAME")`` need the dataset card (``README.md``,
whose ``configs`` name the shards) and the parquet shards; ``croissant.json``, ``CITATION.cff``,
``metadata.csv`` and the previews go with them. The PNG folders, zips, IDX files and strokes stay
out (they repeat the shards' images). Each file is checked against ``SHA256SUMS`` first, so only
a complete, unaltered release is sent, in one commit, through ``huggingface_hub``. The token is
``huggingface_hub``'s own (``HF_TOKEN`` or ``hf auth login``), never a command-line argument.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

from .reference import release_version

PUBLISHED = ("README.md", "croissant.json", "CITATION.cff", "metadata.csv")
PUBLISHED_FOLDERS = ("data", "preview")
REPO_FORM = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}")


class PublishError(Exception):
    """The release cannot be published as asked; the message says why."""


def checked_files(release: Path) -> list[str]:
    """The release paths to upload, each verified against ``SHA256SUMS``."""
    try:
        listed = (release / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise PublishError(f"{release} holds no finished release (no SHA256SUMS)") from None
    sums = dict(reversed(line.split("  ", 1)) for line in listed if "  " in line)
    chosen = [
        name
        for name in sorted(sums)
        if name in PUBLISHED or name.split("/", 1)[0] in PUBLISHED_FOLDERS
    ]
    if not any(name.startswith("data/") for name in chosen):
        raise PublishError(f"{release} has no parquet shards: export it with --formats parquet")
    if "croissant.json" not in chosen:
        raise PublishError(f"{release} has no croissant.json: export it again with this version")
    for name in chosen:
        digest = hashlib.sha256()
        with open(release / name, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):  # noqa: B023
                digest.update(block)
        if digest.hexdigest() != sums[name]:
            raise PublishError(f"{name} does not match SHA256SUMS: the release was altered")
    return chosen


def publish(release: Path, repo: str, private: bool = False, message: str = "") -> str:
    """Create the dataset repository if needed and upload the release in one commit; its URL."""
    from huggingface_hub import HfApi

    if not REPO_FORM.fullmatch(repo):
        raise PublishError(f"--repo {repo!r}: give OWNER/NAME")
    files = checked_files(release)
    api = HfApi()
    api.create_repo(repo, repo_type="dataset", private=private, exist_ok=True)
    commit = api.upload_folder(
        folder_path=release,
        repo_id=repo,
        repo_type="dataset",
        allow_patterns=files,
        commit_message=message or f"CoMNIST release {release_version(release)}",
    )
    return str(getattr(commit, "commit_url", commit))


def run_publish(args: argparse.Namespace) -> int:
    try:
        url = publish(args.release, args.repo, args.private, args.message or "")
    except PublishError as error:
        sys.stderr.write(f"publish: {error}\n")
        return 1
    except ImportError:
        sys.stderr.write("publish: needs huggingface_hub: pip install -e '.[hub]'\n")
        return 2
    sys.stdout.write(f"published: {url}\n")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "publish", help="upload a release's parquet shards and card to the Hugging Face Hub"
    )
    parser.add_argument("release", type=Path, metavar="RELEASE", help="a release directory")
    parser.add_argument("--repo", required=True, metavar="OWNER/NAME", help="the dataset repo")
    parser.add_argument("--private", action="store_true", help="create the repo private")
    parser.add_argument("--message", help="the commit message (default: the release's name)")
    parser.set_defaults(run=run_publish)
