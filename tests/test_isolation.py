"""No test writes into the user's home (conftest.py at the root): the folders that
Keras, Matplotlib, IPython and Jupyter would create under ``~`` point into the
run's private home, and the course cache into a temporary folder."""

import os
import subprocess
import sys
from pathlib import Path

from helpers import settings

PRIVATE = ("KERAS_HOME", "MPLCONFIGDIR", "IPYTHONDIR", "JUPYTER_CONFIG_DIR",
           "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
           "XDG_DATA_HOME")


def test_the_libraries_folders_are_the_runs_own():
    home = Path(os.environ["TL_TEST_HOME"])
    assert home.is_dir() and Path.home() not in home.parents
    for name in PRIVATE:
        assert home in Path(os.environ[name]).parents, name
    import keras  # noqa: F401  (on import, Keras writes its keras.json into its home)

    assert (home / "keras" / "keras.json").is_file()


def test_the_course_cache_is_not_the_students():
    cache = settings.cache_dir()
    assert cache != Path.home() / ".keras" / "tl-course"
    assert Path.home() not in cache.parents or Path(os.environ["TL_TEST_HOME"]) in cache.parents


def test_a_process_a_test_starts_inherits_them(tmp_path):
    probe = ("import os, matplotlib, IPython.paths, jupyter_core.paths as j; "
             "print(matplotlib.get_configdir()); print(IPython.paths.get_ipython_dir()); "
             "print(j.jupyter_runtime_dir())")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    home = Path(os.environ["TL_TEST_HOME"])
    assert len(out) == 3 and all(home in Path(p).parents for p in out), out
