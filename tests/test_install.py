"""How the course installs: pyproject.toml is the one list of what it needs,
requirements.txt the exact pins `make` installs inside those ranges, and the
wheel carries what the package reads at run time."""

import json
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# what `make setup` installs: the base, the CPU TensorFlow, the notebooks', the slides'
# and the tests' extras
MAKE_EXTRAS = ("tensorflow-cpu", "lab", "slides", "test")


def _pins(path) -> dict[str, Requirement]:
    pins = {}
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate():
                pins[req.name.lower()] = req
    return pins


def _needed(extras) -> list[Requirement]:
    reqs = [Requirement(r) for r in PROJECT["dependencies"]]
    for extra in extras:
        reqs += [Requirement(r) for r in PROJECT["optional-dependencies"][extra]]
    return reqs


def test_requirements_pin_exactly_what_pyproject_asks():
    pins = _pins(ROOT / "requirements.txt")
    extras = list(MAKE_EXTRAS)
    if default_environment()["platform_machine"] != "x86_64":  # requirements.txt's marker
        extras[0] = "tensorflow"
    for req in _needed(extras):
        pin = pins.get(req.name.lower())
        assert pin is not None, f"requirements.txt does not pin {req.name}"
        (spec,) = pin.specifier
        assert spec.operator == "==", f"requirements.txt: {pin} is not an exact pin"
        assert req.specifier.contains(spec.version, prereleases=True), (
            f"requirements.txt pins {pin}, outside pyproject's {req}")


def test_backend_pins_are_inside_the_extras_and_on_the_public_index():
    for extra, path in (("torch", "requirements-torch.txt"), ("jax", "requirements-jax.txt")):
        pins = _pins(ROOT / path)
        for req in _needed([extra])[len(PROJECT["dependencies"]):]:
            (spec,) = pins[req.name.lower()].specifier
            assert req.specifier.contains(spec.version)
            assert "+" not in spec.version, f"{path}: {spec} is a local version no index hosts"


def test_colab_runtime_is_inside_the_ranges():
    colab = {"tensorflow": "2.20.0", "keras": "3.13.2", "numpy": "2.1.3", "scipy": "1.16.3",
             "scikit-learn": "1.6.1", "scikit-image": "0.25.2", "matplotlib": "3.10.0",
             "pillow": "11.3.0", "tqdm": "4.67.3", "jax": "0.7.2", "jaxlib": "0.7.2",
             "torch": "2.11.0"}
    for req in _needed(["tensorflow", "torch", "jax"]):
        if req.name in colab:
            assert req.specifier.contains(colab[req.name]), f"{req} refuses Colab's {colab[req.name]}"


def test_requires_python_is_what_the_pins_need():
    assert PROJECT["requires-python"] == ">=3.11"   # numpy 2.4 and jax 0.10 need 3.11
    assert sys.version_info >= (3, 11)


def test_installed_environment_is_consistent():
    out = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.slow
def test_the_wheel_holds_quizzes_datasets_manifests_and_slide_templates(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                          "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    quizzes = sorted(p.name for p in (ROOT / "helpers" / "lessons" / "quizzes").glob("*.json"))
    assert sorted(n.rsplit("/", 1)[1] for n in names if re.search(r"quizzes/.+\.json$", n)) == quizzes
    assert any(n.endswith("manifests/cats_and_dogs_filtered.sha256") for n in names)
    assert any(n.endswith("helpers/data/datasets.toml") for n in names)
    assert any(n.endswith("templates/offline_slides/index.html.j2") for n in names)
    assert any(n.endswith("templates/offline_slides/conf.json") for n in names)


def _python(version):
    import glob
    import os
    import shutil

    candidates = sorted(glob.glob(os.path.expanduser(
        f"~/.pyenv/versions/{version}.*/bin/python{version}"))) + [shutil.which(f"python{version}")]
    found = next((c for c in candidates if c and subprocess.run(
        [c, "--version"], capture_output=True).returncode == 0), None)
    if found is None:
        pytest.skip(f"no Python {version} here (pyenv install {version})")
    return found


@pytest.mark.slow
@pytest.mark.parametrize("version", ["3.11", "3.12", "3.13"])
def test_pins_and_package_resolve_on_each_python(version, tmp_path):
    """pip resolves requirements.txt and the course on each Python the course supports
    (a dry run: every pin exists for that Python, and nothing conflicts). A real
    install on Python 3.13 is tests/test_colab_runtime.py's."""
    venv = tmp_path / "venv"
    subprocess.run([_python(version), "-m", "venv", str(venv)], check=True)
    out = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--dry-run",
                          "--quiet", "--report", str(tmp_path / "report.json"), "-r",
                          str(ROOT / "requirements.txt"), "-r",
                          str(ROOT / "requirements-jax.txt"), "-e", str(ROOT)],
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    chosen = {re.sub(r"[-_.]+", "-", i["metadata"]["name"].lower()): i["metadata"]["version"]
              for i in report["install"]}
    assert chosen["keras"] == next(iter(_pins(ROOT / "requirements.txt")["keras"].specifier)).version
    assert "tensorflow-cpu" in chosen or "tensorflow" in chosen
