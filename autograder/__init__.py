"""Graded deep-learning labs: checks, a sandboxed notebook runner, batch grading and reports.

Importing this package is cheap: it pulls in neither TensorFlow nor Jupyter.
"""

__version__ = "0.1.0"
