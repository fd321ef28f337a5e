"""Chapter 10's exercises: every solution passes its checks (hidden tests included), the classic
wrong answers fail with a hint that points at the mistake, the "find the bug" cells really show
their bug, and the student version holds stubs that fail politely.

The cells run in this process (one TensorFlow import for the whole module), in the order a
learner runs them: setup, imports, the given cells, then an answer and its check cell.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.conftest import ROOT

ASSIGNMENT = "10_text_transformers"
SOURCE = ROOT / "exercises" / "source" / ASSIGNMENT / f"{ASSIGNMENT}_exercises.ipynb"
RELEASE = ROOT / "exercises" / "release" / ASSIGNMENT / f"{ASSIGNMENT}_exercises.ipynb"

#: Locked cells that define what the questions use, in notebook order.
GIVEN = ("setup", "imports", "q2_data", "q3_data", "q4_buggy", "q4_symptom")
#: question -> (answer cell, check cell)
QUESTIONS = {
    "q1": ("q1_answer", "q1_tokenize"),
    "q2": ("q2_answer", "q2_tf_idf"),
    "q3": ("q3_answer", "q3_attention"),
    "q4": ("q4_answer", "q4_causal_mask"),
    "q5": ("q5_answer", "q5_positional_embedding"),
    "q6": ("q6_answer", "q6_bigram_vectorizer"),
}


def _cells(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return {cell["metadata"]["nbgrader"]["grade_id"]: cell for cell in notebook["cells"]}


@pytest.fixture(scope="module")
def source_cells():
    return _cells(SOURCE)


@pytest.fixture(scope="module")
def given_namespace(source_cells):
    """The names a learner has after running the setup, import and given cells."""
    namespace: dict = {}
    for grade_id in GIVEN:
        exec(source_cells[grade_id]["source"], namespace)
    return namespace


def _run(namespace, answer_source, check_source):
    """Run an answer, then a check cell, in a copy of ``namespace``."""
    scope = dict(namespace)
    exec(textwrap.dedent(answer_source), scope)
    exec(check_source, scope)
    return scope


def test_the_assignment_has_the_required_parts(source_cells):
    graded = {gid: cell for gid, cell in source_cells.items()
              if cell["metadata"]["nbgrader"].get("grade")}
    autograded = [gid for gid, cell in graded.items() if cell["cell_type"] == "code"]
    written = [gid for gid, cell in graded.items() if cell["cell_type"] == "markdown"]
    assert len(autograded) >= 5 and sorted(autograded) == sorted(c for _, c in QUESTIONS.values())
    assert written == ["q7_written"]
    assert graded["q7_written"]["metadata"]["nbgrader"]["solution"] is True
    assert all(cell["metadata"]["nbgrader"]["points"] == 2 for cell in graded.values())
    assert [gid for gid in source_cells if gid.endswith("_buggy")] == ["q4_buggy"]
    assert all("### BEGIN HIDDEN TESTS" in graded[gid]["source"] for gid in autograded)


@pytest.mark.parametrize("question", sorted(QUESTIONS))
def test_the_solution_passes_its_checks_and_hidden_tests(question, source_cells, given_namespace,
                                                         capsys):
    answer, check = QUESTIONS[question]
    _run(given_namespace, source_cells[answer]["source"], source_cells[check]["source"])
    assert "ok:" in capsys.readouterr().out


def test_the_find_the_bug_cells_show_their_bug(source_cells, given_namespace, capsys):
    scope = dict(given_namespace)
    capsys.readouterr()
    exec(source_cells["q4_buggy"]["source"], scope)
    exec(source_cells["q4_symptom"]["source"], scope)
    printed = capsys.readouterr().out
    assert "[[1 1 1 1]\n [0 1 1 1]" in printed, printed  # the mask is True above the diagonal
    assert "the first token's output changed: True" in printed, printed


WRONG_ANSWERS = [
    pytest.param("q1", """
        def tokenize(text):
            return "".join(char for char in text if char not in string.punctuation).split()
        """, ["lowercase the text first"], id="q1-no-lowercase"),
    pytest.param("q1", """
        def tokenize(text):
            return "".join(c for c in text.lower() if c not in string.punctuation).split(" ")
        """, ["split() with no argument"], id="q1-split-on-one-space"),
    pytest.param("q1", """
        def tokenize(text):
            return text.lower().split()
        """, ["string.punctuation"], id="q1-keeps-punctuation"),
    pytest.param("q2", """
        def tf_idf(documents, vocabulary):
            return np.array([[d.count(w) for w in vocabulary] for d in documents], "float32")
        """, ["those are the counts"], id="q2-counts-only"),
    pytest.param("q2", """
        def tf_idf(documents, vocabulary):
            present = np.array([[w in d for w in vocabulary] for d in documents], "float64")
            idf = np.log(1 + len(documents) / (1 + present.sum(axis=0)))
            return (present * idf).astype("float32")
        """, ["how many TIMES"], id="q2-multi-hot-times-idf"),
    pytest.param("q2", """
        def tf_idf(documents, vocabulary):
            counts = np.array([[d.count(w) for w in vocabulary] for d in documents], "float64")
            idf = np.log(len(documents) / (counts > 0).sum(axis=0))
            return (counts * idf).astype("float32")
        """, ["smoothed idf"], id="q2-unsmoothed-idf"),
    pytest.param("q3", """
        def attention(queries, keys, values, mask=None):
            scores = queries @ keys.T
            if mask is not None:
                scores = np.where(mask, scores, -1e9)
            weights = np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)
            return weights @ values, weights
        """, ["np.sqrt(d)"], id="q3-no-scaling"),
    pytest.param("q3", """
        def attention(queries, keys, values, mask=None):
            scores = queries @ keys.T / np.sqrt(keys.shape[-1])
            weights = np.exp(scores) / np.exp(scores).sum(axis=0, keepdims=True)
            return weights @ values, weights
        """, ["the last axis"], id="q3-softmax-over-queries"),
    pytest.param("q3", """
        def attention(queries, keys, values, mask=None):
            scores = queries @ keys.T / np.sqrt(keys.shape[-1])
            weights = np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)
            if mask is not None:
                weights = weights * mask
            return weights @ values, weights
        """, ["BEFORE the softmax"], id="q3-mask-after-softmax"),
    pytest.param("q4", """
        causal_mask = buggy_causal_mask
        """, ["BELOW the diagonal"], id="q4-the-bug"),
    pytest.param("q4", """
        def causal_mask(length):
            return np.tril(np.ones((length, length), dtype=bool), k=-1)
        """, ["attend to itself"], id="q4-hides-the-diagonal"),
    pytest.param("q5", """
        class PositionalEmbedding(keras.layers.Layer):
            def __init__(self, sequence_length, vocab_size, embed_dim, **kwargs):
                super().__init__(**kwargs)
                self.token_embeddings = keras.layers.Embedding(vocab_size, embed_dim)

            def call(self, inputs):
                return self.token_embeddings(inputs)
        """, ["keras.ops.arange"], id="q5-no-positions"),
    pytest.param("q5", """
        class PositionalEmbedding(keras.layers.Layer):
            def __init__(self, sequence_length, vocab_size, embed_dim, **kwargs):
                super().__init__(**kwargs)
                self.token_embeddings = keras.layers.Embedding(vocab_size, embed_dim)
                self.position_embeddings = keras.layers.Embedding(sequence_length, embed_dim)

            def call(self, inputs):
                positions = keras.ops.arange(keras.ops.shape(inputs)[-1])
                return self.token_embeddings(inputs) + self.position_embeddings(positions)

            def get_config(self):
                return super().get_config()
        """, ["get_config()'s three arguments", "super().get_config() plus"],
        id="q5-no-get-config"),
    pytest.param("q6", """
        def make_bigram_vectorizer(texts, max_tokens):
            layer = keras.layers.TextVectorization(max_tokens=max_tokens, output_mode="multi_hot")
            layer.adapt(texts)
            return layer
        """, ["ngrams=2"], id="q6-unigrams-only"),
    pytest.param("q6", """
        def make_bigram_vectorizer(texts, max_tokens):
            layer = keras.layers.TextVectorization(max_tokens=max_tokens, ngrams=2,
                                                   output_mode="count")
            layer.adapt(texts)
            return layer
        """, ["not 'count'"], id="q6-counts"),
    pytest.param("q6", """
        def make_bigram_vectorizer(texts, max_tokens):
            layer = keras.layers.TextVectorization(max_tokens=max_tokens, ngrams=2)
            layer.adapt(texts)
            return layer
        """, ["output_mode='multi_hot'"], id="q6-integer-sequences"),
]


@pytest.mark.parametrize(("question", "wrong_answer", "hint_parts"), WRONG_ANSWERS)
def test_a_classic_wrong_answer_fails_with_a_hint(question, wrong_answer, hint_parts,
                                                   source_cells, given_namespace):
    checks = given_namespace["checks"]
    _, check = QUESTIONS[question]
    with pytest.raises(checks.CheckFailed) as failure:
        _run(given_namespace, wrong_answer, source_cells[check]["source"])
    message = str(failure.value)
    assert "Hint:" in message
    for part in hint_parts:
        assert part in message, message


def test_the_student_version_has_stubs_that_fail_with_a_hint(given_namespace):
    checks = given_namespace["checks"]
    released = _cells(RELEASE)
    for question, (answer, check) in QUESTIONS.items():
        assert "raise NotImplementedError()" in released[answer]["source"], question
        assert "### BEGIN SOLUTION" not in released[answer]["source"]
        assert "HIDDEN TESTS" not in released[check]["source"]
        with pytest.raises(checks.CheckFailed) as failure:
            _run(given_namespace, released[answer]["source"], released[check]["source"])
        assert "not answered yet" in str(failure.value), (question, str(failure.value))
    assert released["q7_written"]["source"].strip() == "YOUR ANSWER HERE"
