"""The lab's grader (``python -m helpers grade``, ``gradebook merge``).

* ``inspection``: a handed-in ``.keras`` file checked before anything in it is built;
* ``testphotos``: the hidden photos, decoded once, memory-mapped, shuffled per model;
* ``sandbox``: the isolated process a submission runs in;
* ``gradebook``, ``gradesheet``, ``grade``: a class, the pass rule and the report,
  one submission;
* ``shards``: a class graded on many machines, the parts merged.

The lessons never import the grader (``tests/test_layering.py``).
"""
