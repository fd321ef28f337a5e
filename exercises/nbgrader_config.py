"""nbgrader settings for this course directory, for instructors who run nbgrader here directly
(``nbgrader generate_assignment``, the formgrader). ``course grade`` and ``make
release-exercises`` use the same settings, from ``course_lib.grading.settings``, in a throwaway
copy, so neither writes here.

What they set: a per-cell timeout sized for TensorFlow cells (120 s, interrupted then the notebook
goes on), deleted check cells not put back (they score 0), grade cell ids kept in the graded
notebooks, and hidden tests' code left out of the feedback.

What only ``course grade`` adds (nbgrader run here directly has none of it): a course folder and
gradebook per submission, the kernel in a bubblewrap sandbox, the tampering guard before every
check cell, and the repair of cell-structure problems (see the README's instructor section).
"""

from pathlib import Path

from course_lib.grading.settings import nbgrader_config

c = get_config()  # noqa: F821 - nbgrader provides get_config() to its config files
c.merge(nbgrader_config(Path(__file__).resolve().parent))
