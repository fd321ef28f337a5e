"""The closing "What your run showed" section: what a learner reads and what CI compares."""

import pytest

from course_lib.report import RunReport


def _three(holds_last: bool) -> RunReport:
    showed = RunReport()
    showed.claim("the model beats the baseline", "2.1 against 2.4", 2.1 < 2.4)
    showed.claim("dropout delays overfitting", "epoch 9 against epoch 4", 9 > 4)
    showed.claim("the augmented model wins", "71% against 65%", holds_last,
                 why_it_can_fail="a smaller sample can reverse a few-point gap")
    return showed


def test_each_claim_prints_one_line_with_its_numbers_and_verdict():
    showed = _three(True)
    assert str(showed).splitlines() == [
        "the model beats the baseline: 2.1 against 2.4 holds: True",
        "dropout delays overfitting: epoch 9 against epoch 4 holds: True",
        "the augmented model wins: 71% against 65% holds: True",
    ]


def test_check_prints_only_true_when_every_claim_holds(capsys):
    _three(True).check()
    assert capsys.readouterr().out == "True\n"


def test_check_names_the_failed_claim_and_why(capsys):
    _three(False).check()
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "False"
    assert out[1] == ("did not hold in this run: the augmented model wins: 71% against 65% holds: False"
                      " (a smaller sample can reverse a few-point gap)")


def test_too_few_claims_do_not_pass(capsys):
    showed = RunReport()
    showed.claim("one thing", "1 < 2", True)
    showed.check()
    assert capsys.readouterr().out.splitlines() == [
        "False", "only 1 claims were made; the chapter promises 3"]


def test_numpy_booleans_are_accepted():
    np = pytest.importorskip("numpy")
    showed = RunReport()
    assert showed.claim("a", "x", np.bool_(False)).holds is False


@pytest.mark.parametrize("text", ["", "  ", "loss: lower"])
def test_a_claim_text_must_be_plain(text):
    with pytest.raises(ValueError):
        RunReport().claim(text, "1", True)
