"""Where a submission runs: ``python -m helpers.gradeworker --serve``.

Started by :mod:`helpers.gradebook`, one server per parallel worker. A server
imports TensorFlow and Keras once, runs no model itself, and for every job it
reads on its standard input (a JSON line: model, photos, output file, memory
limit) it forks a **child process** for that one submission: its own session
and address-space cap, its own memory, killed by the grader (which watches its
resident memory and wall time) if it goes past either limit. The child loads
the model with ``keras.models.load_model(safe_mode=True)`` (Keras' own refusal
of code in a config, on top of :mod:`helpers.submission`'s), runs it over the
test photos already decoded by the grader (a ``.npy`` array shared by every
submission of that input size), in the order and batches the grader drew for it
(:func:`helpers.testphotos.order_and_batches`), and saves the outputs; it never
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
import sys

BATCH = 16


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
                         "it with helpers.train.save_classifier"}
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


if __name__ == "__main__":
    sys.exit(serve())
