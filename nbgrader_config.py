"""nbgrader configuration of the course: solutions/ is the source, labs/ the release."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from autograder.nbgrader_steps import (  # noqa: E402
    GENERATE_ASSIGNMENT_PREPROCESSORS,
    GENERATE_FEEDBACK_PREPROCESSORS,
    STDERR_NOISE,
)

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "dl-labs"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "labs"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", ".DS_Store"]

# The release names the exercise in each stub: raise NotImplementedError("central_difference").
c.GenerateAssignment.preprocessors = GENERATE_ASSIGNMENT_PREPROCESSORS

# Feedback shows the graded notebook, but never the hidden checks' code (nbgrader#917).
c.GenerateFeedback.preprocessors = GENERATE_FEEDBACK_PREPROCESSORS

# TensorFlow, absl and CUDA log lines (and Python warnings) go to stderr; nbgrader would
# otherwise count any stderr output in a graded cell as a failure.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = STDERR_NOISE

# Hidden checks draw their inputs from the course secret; keep the kernel's stderr quiet.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# Once a notebook has run, its kernel is stopped at once: a graceful shutdown waits ~2 s per
# submission for an interpreter that has imported TensorFlow to tear itself down, and nothing
# the grade needs happens in that teardown (every output has arrived before it starts).
c.Execute.shutdown_kernel = "immediate"
