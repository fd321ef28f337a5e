"""The **What your run showed** section that closes every chapter.

A chapter makes claims ("augmentation beats no augmentation", "the LSTM beats the baseline").
Each claim is computed from the learner's own run, printed with its numbers, and kept true in CI::

    from course_lib import report

    showed = report.RunReport()
    showed.claim("augmentation beats no augmentation",
                 f"{augmented_acc:.1%} against {plain_acc:.1%}", augmented_acc > plain_acc)
    showed          # one line per claim: "<claim>: <numbers> holds: True|False"

and then, in a checked cell (``# NBVAL_CHECK_OUTPUT``)::

    showed.check()   # prints True, or False followed by the claims that failed

The printing cell's numbers change from run to run, so it is not checked; the second cell prints
the same text on every run where the claims hold, so CI compares it. A learner whose run breaks a
claim sees ``holds: False`` and a sentence about why, never a traceback: the course never claims
what the run did not show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Claim", "RunReport"]


@dataclass(frozen=True)
class Claim:
    """One claim of a chapter, with the figures that decide it."""

    text: str
    numbers: str
    holds: bool
    why_it_can_fail: str = ""

    def line(self) -> str:
        return f"{self.text}: {self.numbers} holds: {self.holds}"


@dataclass
class RunReport:
    """The claims of one chapter, in the order the chapter made them."""

    claims: list[Claim] = field(default_factory=list)

    def claim(self, text: str, numbers: str, holds: Any, why_it_can_fail: str = "") -> Claim:
        """Record a claim. ``holds`` is converted with ``bool`` (NumPy and tensor booleans work).

        ``why_it_can_fail`` is shown only when the claim fails: what in a learner's run (a smaller
        sample, another seed, another machine) can make it fail, and what to try.
        """
        if not isinstance(text, str) or not text.strip():
            raise ValueError("a claim needs its text, e.g. 'the LSTM beats the baseline'")
        if ":" in text:
            raise ValueError(f"keep ':' out of a claim's text, it separates the numbers: {text!r}")
        made = Claim(text.strip(), str(numbers), bool(holds), why_it_can_fail)
        self.claims.append(made)
        return made

    def lines(self) -> list[str]:
        return [claim.line() for claim in self.claims]

    def failed(self) -> list[Claim]:
        return [claim for claim in self.claims if not claim.holds]

    def problems(self, *, minimum: int = 3) -> list[str]:
        """What keeps the report from holding: too few claims, and each claim that failed."""
        problems = []
        if len(self.claims) < minimum:
            problems.append(f"only {len(self.claims)} claims were made; the chapter promises {minimum}")
        for claim in self.failed():
            note = f" ({claim.why_it_can_fail})" if claim.why_it_can_fail else ""
            problems.append(f"did not hold in this run: {claim.line()}{note}")
        return problems

    def check(self, *, minimum: int = 3) -> None:
        """Print ``True`` when there are at least ``minimum`` claims and every one holds.

        Otherwise print ``False`` and, for each claim that failed, its line and why it can fail.
        Meant for a checked cell: it prints the same text on every run where the claims hold.
        """
        problems = self.problems(minimum=minimum)
        print(not problems)
        for problem in problems:
            print(problem)

    def __str__(self) -> str:
        return "\n".join(self.lines()) if self.claims else "(no claims recorded yet)"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython display
        printer.text(str(self))

    def __repr__(self) -> str:
        return str(self)
