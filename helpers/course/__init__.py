"""Building the course: ``runner`` (``python -m helpers course``: every notebook
headless), ``slides`` (``python -m helpers slides``: reveal.js decks, offline) and
``onesource`` (``python -m helpers save``: the notebooks' ``#@save`` cells written
into ``helpers.lessons`` and the other modules they name).
"""
