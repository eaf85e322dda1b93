"""Stage settings that Chalice needs while it reads ``app.py``: the event bucket, the refit rate,
the rescore queue.

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
LOCAL_RESCORE_QUEUE = "comnist-local-rescore"


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


def stage_setting(name: str, default: str, config_path: Path = CONFIG_PATH) -> str:
    """An environment variable of the stage: from the environment, else from the stage's config."""
    if os.environ.get(name):
        return os.environ[name]
    try:
        config = json.loads(config_path.read_text())
    except (OSError, ValueError):
        return default
    stage = config.get("stages", {}).get(current_stage(), {})
    return str(stage.get("environment_variables", {}).get(name, default))


def drawings_bucket_name(config_path: Path = CONFIG_PATH) -> str:
    """The drawings bucket that fires the S3 event for this stage."""
    return stage_setting("COMNIST_DRAWINGS_BUCKET", LOCAL_BUCKET, config_path)


def hours_setting(name: str, config_path: Path = CONFIG_PATH, default: int = 24) -> int:
    """A schedule's hours between runs, at least one, from the stage setting ``name``."""
    try:
        return max(1, int(stage_setting(name, str(default), config_path)))
    except ValueError:
        return default


def refit_rate_hours(config_path: Path = CONFIG_PATH) -> int:
    """Hours between scheduled refit-and-rescore runs (``COMNIST_REFIT_RATE_HOURS``, default 24)."""
    return hours_setting("COMNIST_REFIT_RATE_HOURS", config_path)


def sweep_rate_hours(config_path: Path = CONFIG_PATH) -> int:
    """Hours between orphan sweeps (``COMNIST_SWEEP_RATE_HOURS``, default 24)."""
    return hours_setting("COMNIST_SWEEP_RATE_HOURS", config_path)


def rescore_queue_name(config_path: Path = CONFIG_PATH) -> str:
    """The SQS queue of rescore batches (``COMNIST_RESCORE_QUEUE``, recorded by bootstrap)."""
    return stage_setting("COMNIST_RESCORE_QUEUE", LOCAL_RESCORE_QUEUE, config_path)
