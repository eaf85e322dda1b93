"""The deployed shape: ``chalice package`` (Terraform) holds what Lambda needs and nothing it can't load."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from comnist.grants import GRANTS

ROOT = Path(__file__).resolve().parent.parent
COLLECTOR = ROOT / "collector"
# Chalice deploys to the Lambda runtime of the Python that runs it.
RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
CPYTHON = f"cp{sys.version_info.major}{sys.version_info.minor}"
# python3.11 runs on Amazon Linux 2 (glibc 2.26), python3.12 and later on Amazon Linux 2023 (2.34).
LAMBDA_GLIBC = (2, 26) if RUNTIME == "python3.11" else (2, 34)


def pinned_versions() -> dict[str, str]:
    """``name -> version`` of the collector's ``requirements.txt`` pins."""
    pins = {}
    for line in (COLLECTOR / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def glibc_needed(data: bytes) -> tuple[int, int]:
    """The newest ``GLIBC_2.x`` symbol version a shared object asks for, or (0, 0)."""
    versions = [(2, int(minor)) for minor in re.findall(rb"GLIBC_2\.(\d+)", data)]
    return max(versions, default=(0, 0))


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("package") / "terraform"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_DEFAULT_REGION="us-east-1", COMNIST_STAGE="dev")
    chalice = Path(sys.executable).with_name("chalice")
    subprocess.run(
        [str(chalice), "package", "--pkg-format", "terraform", "--stage", "dev", str(out)],
        cwd=COLLECTOR,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return out


def test_zip_holds_app_chalicelib_sanitizer_and_lambda_wheels(package):
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        names = set(archive.namelist())
        wheels = {
            name.split("-")[0]: archive.read(name).decode()
            for name in names
            if name.endswith(".dist-info/WHEEL")
        }
    for needed in (
        "app.py",
        "chalicelib/intake.py",
        "chalicelib/alphabets.json",
        "sanitizer/__init__.py",
        "sanitizer/model.py",
        "sanitizer/nonletters.npz",
        "sanitizer/starter.json",
        "sanitizer/starter_letters.npz",
        "numpy/__init__.py",
        "PIL/__init__.py",
    ):
        assert needed in names, needed
    assert "comnist/cli.py" not in names, "the command-line tools stay out of Lambda"
    assert not any(name.startswith(("tests/", "site/", "data/")) for name in names)
    for project in ("numpy", "pillow"):
        tags = wheels[project]
        assert f"{CPYTHON}-{CPYTHON}-manylinux" in tags and "x86_64" in tags, tags
        # A wheel loads where any of its tags does: manylinux2014 is glibc 2.17.
        promised = [(2, int(m)) for m in re.findall(r"manylinux_2_(\d+)_", tags)]
        promised += [(2, 17)] * ("manylinux2014" in tags)
        assert min(promised) <= LAMBDA_GLIBC, f"{project} needs a newer glibc than {RUNTIME}'s"


def test_every_shared_object_loads_on_lambdas_glibc(package):
    """What the wheel tags promise, checked in the binaries: no symbol newer than glibc 2.26."""
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        shared = [n for n in archive.namelist() if re.search(r"\.so(\.\d+)*$", n)]
        needs = {name: glibc_needed(archive.read(name)) for name in shared}
    assert any(n.startswith("numpy/") for n in needs) and any(n.startswith("PIL/") for n in needs)
    extension = f".cpython-{CPYTHON[2:]}-x86_64-linux-gnu.so"
    assert all(extension in n for n in needs if n.startswith("PIL/_"))
    too_new = {name: need for name, need in needs.items() if need > LAMBDA_GLIBC}
    assert not too_new, too_new


def test_terraform_subscribes_the_sanitizer_and_gives_each_function_its_policy(package):
    document = json.loads((package / "chalice.tf.json").read_text())
    resources = document["resource"]
    stage = json.loads((COLLECTOR / ".chalice" / "config.json").read_text())["stages"]["dev"]
    bucket = stage["environment_variables"]["COMNIST_DRAWINGS_BUCKET"]
    (notification,) = resources["aws_s3_bucket_notification"].values()
    assert notification["bucket"] == bucket
    (target,) = notification["lambda_function"]
    assert target["filter_prefix"] == "drawings/" and target["filter_suffix"] == ".png"
    functions = resources["aws_lambda_function"]
    assert set(GRANTS) == set(functions)
    assert all(f["runtime"] == RUNTIME for f in functions.values())
    assert functions["on_new_drawing"]["memory_size"] >= 1024
    roles = resources["aws_iam_role_policy"]
    assert len(roles) == len(functions), "one role per function"
    policies = [json.loads(p["policy"]) for p in roles.values()]
    for name in functions:
        policy_file = stage["lambda_functions"][name]["iam_policy_file"]
        policy = json.loads((COLLECTOR / ".chalice" / policy_file).read_text())
        assert policy in policies, name
        actions = {a for s in policy["Statement"] for a in s["Action"]}
        assert "s3:*" not in actions and not any(s["Resource"] == "*" for s in policy["Statement"])


def test_handlers_import_from_the_package_without_numpy(package, tmp_path):
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        archive.extractall(tmp_path / "lambda")
    probe = (
        "import sys\n"
        "sys.path.insert(0, '.')\n"
        "import app\n"
        "assert callable(app.post_drawing) and callable(app.on_new_drawing)\n"
        "assert 'numpy' not in sys.modules, 'the upload path imported numpy'\n"
        "import sanitizer, numpy, PIL\n"
        "print(numpy.__version__, PIL.__version__)\n"
    )
    result = subprocess.run(
        # -I -S: no site-packages at all, so every import comes from the unzipped package.
        [getattr(sys, "_base_executable", sys.executable), "-I", "-S", "-c", probe],
        cwd=tmp_path / "lambda",
        env={
            "PATH": os.environ["PATH"],
            "COMNIST_DRAWINGS_BUCKET": "drawings",
            "PYTHONPATH": str(tmp_path / "lambda"),
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    pins = pinned_versions()
    assert result.stdout.split() == [pins["numpy"], pins["pillow"]]


# Lambda's runtimes and their OS's glibc: python3.11 on Amazon Linux 2, 3.12 and 3.13 on 2023.
RUNTIME_GLIBC = {"3.11": (2, 26), "3.12": (2, 34), "3.13": (2, 34)}
MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}


@pytest.mark.parametrize("architecture", sorted(MACHINES))
@pytest.mark.parametrize("python", sorted(RUNTIME_GLIBC))
def test_the_pins_resolve_to_manylinux_wheels_for_every_lambda_runtime(
    python, architecture, tmp_path
):
    """What Chalice downloads when it deploys from that Python, for that architecture."""
    machine = MACHINES[architecture]
    abi = f"cp{python.replace('.', '')}"
    glibc = RUNTIME_GLIBC[python]
    # As Chalice asks pip: every manylinux_2_x the runtime's glibc can load, then manylinux2014.
    platforms = [f"manylinux_2_{minor}_{machine}" for minor in range(17, glibc[1] + 1)]
    platforms.append(f"manylinux2014_{machine}")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        + ["--only-binary", ":all:", "--implementation", "cp", "--abi", abi]
        + ["--python-version", python]
        + [option for platform in platforms for option in ("--platform", platform)]
        + ["--requirement", str(COLLECTOR / "requirements.txt"), "--dest", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    wheels = {path.name.split("-")[0].lower(): path for path in tmp_path.glob("*.whl")}
    assert {name: path.name.split("-")[1] for name, path in wheels.items()} == pinned_versions()
    for path in wheels.values():
        if path.name.endswith("-py3-none-any.whl"):
            with zipfile.ZipFile(path) as archive:
                assert not any(re.search(r"\.so(\.\d+)*$", n) for n in archive.namelist())
            continue  # pure Python, without compiled code: it runs on every runtime
        assert f"-{abi}-{abi}-" in path.name and machine in path.name, path.name
        with zipfile.ZipFile(path) as archive:
            shared = [n for n in archive.namelist() if re.search(r"\.so(\.\d+)*$", n)]
            needed = max(glibc_needed(archive.read(n)) for n in shared)
        assert needed <= glibc, f"{path.name} needs glibc {needed}"
