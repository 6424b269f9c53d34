"""Where a submission runs: ``python -m helpers.grader.sandbox --serve``, and the
grader's side of that pipe (:class:`WorkerServer`, :class:`Pool`).

Started by :mod:`helpers.grader.gradebook`, one server per parallel worker. A server
imports TensorFlow and Keras once, runs no model itself, and for every job it
reads on its standard input (a JSON line: model, photos, output file, memory
limit) it forks a **child process** for that one submission: its own session
and address-space cap, its own memory, killed by the grader (which watches its
resident memory and wall time) if it goes past either limit. The child loads
the model with ``keras.models.load_model(safe_mode=True)`` (Keras' own refusal
of code in a config, on top of :mod:`helpers.grader.inspection`'s), runs it over the
test photos already decoded by the grader (a ``.npy`` array shared by every
submission of that input size), in the order and batches the grader drew for it
(:func:`helpers.grader.testphotos.order_and_batches`), and saves the outputs; it never
sees the labels. Whatever the child writes to a temporary folder (Keras extracts
the archive there) goes to a private folder that the grader deletes after the
job, even when it had to kill the child.

The server answers each job with two JSON lines: ``{"pid": ...}`` once the child
runs, then ``{"pid": ..., "exit": ..., "result": {...}}`` once it has ended.
Importing TensorFlow once per server instead of once per submission is what
makes a class quick to grade: a few seconds a submission on two cores.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BATCH = 16
# TensorFlow maps about 2 GB of address space before it allocates anything. A
# child's address space is capped at twice the memory limit plus this: a safety
# net against one allocation too large for the machine; the memory limit itself
# is the resident memory, watched from outside.
ADDRESS_SPACE_OVERHEAD_MB = 2500


def _out_of_memory(e: BaseException) -> bool:
    text = f"{e.__class__.__name__} {e}"
    return isinstance(e, MemoryError) or any(
        word in text for word in ("ResourceExhausted", "OOM", "bad_alloc", "Unable to allocate"))


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return f"{e.__class__.__name__}: {text.splitlines()[0][:300]}" if text else e.__class__.__name__


def run_submission(model_path, photos_path, out_path, order=None, batches=None) -> dict:
    """Load and run one submission here; ``{"shape": ...}`` or ``{"error": ..., "oom": ...}``.
    The photos go in ``order`` (default: as stored), in batches of the sizes in
    ``batches`` (default: :data:`BATCH` each)."""
    import keras
    import numpy as np
    import tensorflow as tf

    try:
        model = keras.models.load_model(model_path, compile=False, safe_mode=True)
    except (Exception, MemoryError) as e:  # any way a submission can fail to load
        if _out_of_memory(e):
            return {"error": f"{e.__class__.__name__} while loading", "oom": True}
        return {"error": f"the model does not load with plain Keras ({_first_line(e)}); save "
                         "it with helpers.lessons.train.save_classifier"}
    layers = model._flatten_layers() if hasattr(model, "_flatten_layers") else model.layers
    if any(getattr(layer, "stateful", False) for layer in layers):
        return {"error": "the model has a stateful layer, whose state would carry from one "
                         "batch of photos to the next; the grader takes only stateless models"}
    images = np.load(photos_path, mmap_mode="r")
    order = np.arange(len(images)) if order is None else np.asarray(order, dtype=np.int64)
    if batches is None:
        batches = [min(BATCH, len(images) - s) for s in range(0, len(images), BATCH)]
    outputs = []
    # one traced function; small batches keep the memory low (a Lite0 classifier
    # stays near 1 GB at 16 photos a batch, against 3.4 GB eagerly at 32)
    run = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    try:
        start = 0
        for size in batches:
            batch = np.asarray(images[order[start:start + size]], dtype="float32")
            start += size
            out = run(tf.constant(batch))
            outputs.append(np.asarray(keras.ops.convert_to_numpy(out), dtype="float32"))
    except (Exception, MemoryError) as e:
        if _out_of_memory(e):
            return {"error": f"{e.__class__.__name__} on a batch of {BATCH} photos", "oom": True}
        size = images.shape[1]
        return {"error": f"the model fails on {size}x{size} RGB photos in 0..255 "
                         f"({_first_line(e)})"}
    result = np.concatenate(outputs) if outputs else np.zeros((0,), "float32")
    np.save(out_path, result)
    return {"shape": list(result.shape)}


def _child(job) -> None:
    """In the forked child: limits, then the submission; never returns."""
    code = 3
    try:
        os.setsid()                                    # the grader kills the whole group
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        import resource

        cap = int(job["address_space_mb"] * 1e6)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        model = job["model"]
        if job.get("tmp"):                             # the grader deletes it afterwards
            import shutil
            import tempfile

            os.environ["TMPDIR"] = tempfile.tempdir = job["tmp"]
            # Keras may also extract beside the file it loads: load a private copy
            model = shutil.copy(model, os.path.join(job["tmp"], "submission.keras"))
        result = run_submission(model, job["photos"], job["out"], job.get("order"),
                                job.get("batches"))
        with open(job["out"] + ".json", "w") as f:
            json.dump(result, f)
        code = 0 if "shape" in result else 3
    finally:
        os._exit(code)


def serve() -> int:
    import helpers  # noqa: F401  (first: keeps TensorFlow's start-up notices quiet)
    import keras  # noqa: F401  (imported once, here, before any child is forked)
    import numpy  # noqa: F401
    import tensorflow  # noqa: F401

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            _child(job)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        try:
            with open(job["out"] + ".json") as f:
                result = json.load(f)
        except (OSError, ValueError):
            result = {}
        exit_code = os.waitstatus_to_exitcode(status)
        print(json.dumps({"pid": pid, "exit": exit_code, "result": result}), flush=True)
    return 0


# ------------------------------------------------- the grader's side of the pipe

def _resident(pid: int) -> int:
    """A process's resident anonymous memory in bytes: what it allocated, not the
    pages of files it maps (the decoded test photos, 2.2 GB for 3,669 photos at
    224 px, or the libraries), which the kernel can drop. ``VmRSS`` where the kernel
    has no ``RssAnon`` (before Linux 4.5); 0 once the process is gone."""
    found = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("RssAnon:", "VmRSS:")):
                    found[line.split(":")[0]] = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return found.get("RssAnon", found.get("VmRSS", 0))


class WorkerServer:
    """One :mod:`helpers.grader.sandbox` server: TensorFlow imported once, a fresh forked
    process per submission. :meth:`run` enforces the limits from outside."""

    def __init__(self):
        # TensorFlow whatever the student's shell says: grades must not depend on it
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "MALLOC_ARENA_MAX": "2",
               "KERAS_BACKEND": "tensorflow"}
        self.proc = subprocess.Popen([sys.executable, "-m", "helpers.grader.sandbox"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env, text=True, bufsize=1)
        self._line(120.0)                              # {"ready": true}

    def _line(self, timeout) -> dict:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            raise RuntimeError("the grading worker stopped answering")
        return json.loads(line)

    def run(self, model: Path, photos: Path, out: Path, timeout: float, memory_mb: int,
            order=None, batches=None):
        """Grade one submission; returns ``(status, message)``. The child's temporary
        files go to a private folder beside ``out``, deleted here whatever happens."""
        tmp = tempfile.mkdtemp(dir=Path(out).parent, prefix="child-")
        try:
            return self._run(model, photos, out, timeout, memory_mb, order, batches, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _run(self, model, photos, out, timeout, memory_mb, order, batches, tmp):
        job = {"model": str(model), "photos": str(photos), "out": str(out), "tmp": tmp,
               "address_space_mb": (2 * memory_mb + ADDRESS_SPACE_OVERHEAD_MB
                                    + os.path.getsize(photos) / 1e6),  # the photos are mapped
               "order": None if order is None else [int(i) for i in order],
               "batches": batches}
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        pid = self._line(60.0)["pid"]
        start, verdict = time.monotonic(), None
        while True:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.05)
            if ready:
                break
            if verdict is None and _resident(pid) > memory_mb * 1e6:
                verdict = ("out of memory", f"the model needed more than {memory_mb} MB of "
                           "memory; use a smaller backbone")
            elif verdict is None and time.monotonic() - start > timeout:
                verdict = ("timeout", f"grading took longer than {timeout:.0f} s; use a "
                           "smaller backbone or input size")
            if verdict is not None:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        done = self._line(10.0)
        if verdict is not None:
            return verdict
        result = done.get("result", {})
        if done.get("exit") == 0 and "shape" in result:
            return "ok", ""
        if result.get("oom"):
            return "out of memory", (f"the model needed more than {memory_mb} MB of memory "
                                     f"({result.get('error', '')[:200]}); use a smaller backbone")
        if done.get("exit", 0) < 0:
            return "failed", (f"the grading process crashed (signal {-done['exit']}); a model "
                              f"that asks for far more than {memory_mb} MB at once ends this "
                              "way: use a smaller backbone")
        return "failed", result.get("error", f"the grading process ended with code "
                                             f"{done.get('exit')}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Pool:
    """One :class:`WorkerServer` per grading thread, restarted if it breaks."""

    def __init__(self):
        self.local, self.all, self.lock = threading.local(), [], threading.Lock()

    def run(self, *args):
        server = getattr(self.local, "server", None)
        if server is None or server.proc.poll() is not None:
            server = self.local.server = WorkerServer()
            with self.lock:
                self.all.append(server)
        try:
            return server.run(*args)
        except (RuntimeError, OSError, ValueError) as e:
            server.close()
            self.local.server = None
            return "failed", f"the grader's worker broke ({e}); grade this submission again"

    def close(self):
        for server in self.all:
            server.close()


if __name__ == "__main__":
    sys.exit(serve())
