"""Settings in one place, and a course cache that two processes can share."""

import os
import subprocess
import sys
import textwrap

import pytest

from helpers import settings


def test_settings_are_read_when_asked(monkeypatch, tmp_path):
    monkeypatch.setenv("TL_CACHE_DIR", str(tmp_path / "c"))
    assert settings.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("TL_CACHE_DIR")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "k"))
    assert settings.cache_dir() == tmp_path / "k" / "tl-course"
    monkeypatch.delenv("TL_PROFILE", raising=False)
    assert settings.profile() == "quick"             # the default downloads nothing
    monkeypatch.setenv("TL_PROFILE", "fast")
    with pytest.raises(ValueError, match="TL_PROFILE='fast'.*quick.*full"):
        settings.profile()
    assert settings.profile("Full") == "full"       # a notebook's PROFILE wins over TL_PROFILE
    from helpers import lessons                      # the notebooks' call reads it the same way
    with pytest.raises(ValueError, match="^'fast' is not a profile: use quick"):
        lessons.resolve_profile("fast")
    monkeypatch.setenv("TL_MAX_PIXELS", "lots")
    with pytest.raises(ValueError, match="TL_MAX_PIXELS"):
        settings.max_pixels()


def test_two_processes_share_a_file_without_tearing(tmp_path):
    # Two writers replace the same cache file 300 times each with 2 MB of their own
    # letter while a reader checks that every read is one whole version.
    target = tmp_path / "shared.json"
    writer = textwrap.dedent(f"""
        import sys
        from helpers import settings
        letter = sys.argv[1]
        for i in range(300):
            settings.atomic_write_text({str(target)!r}, letter * 2_000_000)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", writer, letter]) for letter in "ab"]
    reads = torn = 0
    while any(p.poll() is None for p in procs):
        try:
            text = target.read_text()
        except FileNotFoundError:
            continue
        reads += 1
        if len(text) != 2_000_000 or len(set(text)) != 1:
            torn += 1
    assert all(p.wait() == 0 for p in procs)
    assert reads > 0 and torn == 0
    assert [p.name for p in tmp_path.iterdir()] == ["shared.json"]   # no temporary left over


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "features.npz"
    settings.atomic_write_text(target, "old")

    def broken(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        settings.atomic_write(target, broken)
    assert target.read_text() == "old" and len(list(tmp_path.iterdir())) == 1


def test_helpers_imports_without_tensorflow_and_keeps_its_import_quiet():
    # The environment as a student has it: TF_CPP_MIN_LOG_LEVEL unset (helpers sets it).
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}

    def run(code):
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=env, timeout=300)

    fast = run("import sys, helpers.cli; print('tensorflow' in sys.modules)")
    assert fast.stdout.strip() == "False", fast.stderr  # the CLI starts without TF
    control = run("import tensorflow as tf; print(int(tf.constant(2) * 21))")
    assert control.stdout.strip() == "42", control.stderr
    if not control.stderr:
        pytest.skip("a plain `import tensorflow` prints nothing on this platform: "
                    "there is nothing to silence")
    quiet = run("import helpers, keras, tensorflow as tf; print(int(tf.constant(2) * 21))")
    assert quiet.stdout.strip() == "42" and quiet.stderr == "", quiet.stderr
