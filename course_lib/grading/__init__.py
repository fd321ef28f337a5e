"""Exercise notebooks for instructors: student versions and ``course grade``.

The exercise notebooks live in an nbgrader course directory, ``exercises/`` at the top of the
repository: the instructor versions in ``exercises/source/<assignment>/`` and the generated
student versions in ``exercises/release/<assignment>/`` (see ``exercises/README.md``).

=================  ==============================================================================
``settings``       where the exercises are, the nbgrader configuration and the grading environment
``release``        generate the student versions (``make release-exercises``) and check they are
                   in sync with the sources
``collect``        find the submissions in a folder or an LMS zip (Canvas, Moodle, per-student
                   folders) and name the students
``restore``        read a submission safely and put back nbgrader's cell metadata where a front
                   end (Colab) stripped it
``batch``          grade a batch: ``grades.csv``, per-student HTML feedback, written answers
``worker``         grades students one by one in a process of its own (run by ``batch``)
``samples``        generated submissions, for the tests and ``benchmarks/grade_benchmark.py``
``cli``            the ``course grade`` command
=================  ==============================================================================

Importing this package imports neither nbgrader nor TensorFlow.
"""

from __future__ import annotations
