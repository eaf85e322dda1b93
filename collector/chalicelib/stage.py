"""The drawings bucket's name as the S3 event source, known while Chalice reads ``app.py``.

At run time Lambda has ``COMNIST_DRAWINGS_BUCKET`` from the stage's environment variables. While
``chalice deploy --stage NAME`` or ``chalice package --stage NAME`` loads the app to find its
event sources that variable is not set, so the name is read from the stage in
``.chalice/config.json``, where ``comnist bootstrap`` recorded it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

CONFIG_PATH = Path(__file__).resolve().parent.parent / ".chalice" / "config.json"
LOCAL_BUCKET = "comnist-local-drawings"


def current_stage(argv: list[str] | None = None) -> str:
    """The stage being deployed: ``COMNIST_STAGE``, else the Chalice CLI's ``--stage``, else ``dev``."""
    if os.environ.get("COMNIST_STAGE"):
        return os.environ["COMNIST_STAGE"]
    argv = sys.argv if argv is None else argv
    for i, arg in enumerate(argv):
        if arg == "--stage" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--stage="):
            return arg.split("=", 1)[1]
    return "dev"


def drawings_bucket_name(config_path: Path = CONFIG_PATH) -> str:
    """The drawings bucket that fires the S3 event for this stage."""
    if os.environ.get("COMNIST_DRAWINGS_BUCKET"):
        return os.environ["COMNIST_DRAWINGS_BUCKET"]
    try:
        config = json.loads(config_path.read_text())
    except (OSError, ValueError):
        return LOCAL_BUCKET
    stage = config.get("stages", {}).get(current_stage(), {})
    return stage.get("environment_variables", {}).get("COMNIST_DRAWINGS_BUCKET", LOCAL_BUCKET)
