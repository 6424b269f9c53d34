"""What every test run shares: a private home for the libraries, quiet notebooks,
and the markers that pick a lane (CONTRIBUTING.md, "Lanes").

**A private home.** Before anything imports Keras, a run of pytest points the
folders that Keras, Matplotlib, IPython, Jupyter and the XDG cache and config
would otherwise create under ``~`` at a temporary folder, deleted when the run
ends: no test and no notebook under nbval writes into the user's home. The course
cache (``TL_CACHE_DIR``) is ``$TL_TEST_CACHE_DIR`` when the caller names one
(``make test`` names ``build/test-cache``, kept from run to run), otherwise a
folder inside that temporary home; the notebooks under nbval and the tests that
run a notebook as a student does (the browser test, the course runner's test)
share it, so what one computes the others find. Keras' weight files are read from
the user's ``models/`` folder (linked, never written by the course's notebooks).
The workers of ``pytest -n`` and any pytest started inside a test inherit the
folders of the run that made them.

**Quiet notebooks.** Under nbval, a cell whose output shows a warning or a
traceback fails, as the course runner's summary would flag it (helpers.course.runner).
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_CREATED = None   # the private home this process made, removed at the end of the run


def _private_home() -> None:
    global _CREATED
    if os.environ.get("TL_TEST_HOME"):          # made by the run that started this one
        return
    home = Path(tempfile.mkdtemp(prefix="tl-test-home-"))
    _CREATED = home
    user_keras = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()
    (home / "keras").mkdir()
    if (user_keras / "models").is_dir():        # keras.applications' weights, read only
        (home / "keras" / "models").symlink_to(user_keras / "models")
    cache = os.environ.get("TL_TEST_CACHE_DIR") or str(home / "tl-course")
    Path(cache).mkdir(parents=True, exist_ok=True)
    os.environ.update({
        "TL_TEST_HOME": str(home),
        "TL_TEST_CACHE_DIR": str(Path(cache).resolve()),
        "TL_CACHE_DIR": str(Path(cache).resolve()),
        "KERAS_HOME": str(home / "keras"),
        "MPLCONFIGDIR": str(home / "matplotlib"),
        "IPYTHONDIR": str(home / "ipython"),
        "JUPYTER_CONFIG_DIR": str(home / "jupyter" / "config"),
        "JUPYTER_DATA_DIR": str(home / "jupyter" / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "jupyter" / "runtime"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
    })


_private_home()


def pytest_unconfigure(config):
    if _CREATED is not None:
        shutil.rmtree(_CREATED, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    """nbval's cells carry the ``notebook`` marker, so ``-m "not notebook"`` leaves
    them out whatever paths are given."""
    for item in items:
        if type(item).__name__ == "IPyNbCell":
            item.add_marker(pytest.mark.notebook)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    outputs = getattr(item, "test_outputs", None)  # set by nbval for notebook cells
    if outputs:
        from helpers.course.runner import NOISE

        for out in outputs:
            text = out.get("text", "") if out.get("output_type") == "stream" else ""
            match = NOISE.search(text if isinstance(text, str) else "".join(text))
            if match:
                line = text[match.start():].splitlines()[0][:200]
                raise AssertionError(f"this cell shows a student a warning: {line}")
    return result
