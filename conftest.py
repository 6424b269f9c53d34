"""Keeps the notebooks quiet: under nbval, a cell whose output shows a warning or a
traceback fails, as the course runner's summary would flag it (helpers.cli.course)."""

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    outputs = getattr(item, "test_outputs", None)  # set by nbval for notebook cells
    if outputs:
        from helpers.cli.course import NOISE

        for out in outputs:
            text = out.get("text", "") if out.get("output_type") == "stream" else ""
            match = NOISE.search(text if isinstance(text, str) else "".join(text))
            if match:
                line = text[match.start():].splitlines()[0][:200]
                raise AssertionError(f"this cell shows a student a warning: {line}")
    return result
