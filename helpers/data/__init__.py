"""Where photos come from and how they become arrays.

* ``sources``, ``archives``, ``packs``: the datasets (checksums, mirrors, manifests),
  safe extraction, the small packs that ship with the course;
* ``folders``: checking folders of photos without touching them, labels, splits;
* ``images``, ``pipeline``: the one decode-and-resize path, the tf.data pipeline;
* ``arrays``: notebook 05's four domains as arrays (IDX, JSON, folders).

Nothing here imports a model (``tests/test_layering.py``).
"""
