"""Chapter 10's exercises. The find-the-bug cell shows its symptom: the first token's output
depends on the last token (the mask it uses is turned the wrong way; the title, prompt and
visible check describe only the symptom).

The checks every chapter shares (solutions, classic wrong answers, the student version's stubs)
are built by tests/exercise_harness.py.
"""

from __future__ import annotations

import pytest

from tests import exercise_harness as harness

ASSIGNMENT = "10_text_transformers"
SOURCE, RELEASE = harness.notebook_paths(ASSIGNMENT)

#: Locked cells that define what the questions use, in notebook order.
GIVEN = ("setup", "imports", "q2_data", "q3_data", "q4_buggy", "q4_symptom", "q8_data", "q9_data")
#: question -> (answer cell, check cell)
QUESTIONS = harness.questions("q1_tokenize", "q2_tf_idf", "q3_attention", "q4_causal_mask",
                              "q5_positional_embedding", "q6_bigram_vectorizer", "q8_masked_mean",
                              "q9_teacher_forcing")


source_cells = harness.source_cells_fixture(SOURCE)
given_namespace = harness.given_namespace_fixture(GIVEN)


test_the_assignment_has_the_required_parts = harness.required_parts_test(
    SOURCE, QUESTIONS, "q7_written", ["q4_buggy"])


test_the_solution_passes_its_checks_and_hidden_tests = harness.solution_test(QUESTIONS)


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
        """, ["comes after it"], id="q4-the-bug"),
    pytest.param("q4", """
        def causal_mask(length):
            return np.triu(np.ones((length, length), dtype=bool))
        """, ["comes after it"], id="q4-upper-triangle"),
    pytest.param("q4", """
        def causal_mask(length):
            return np.tril(np.ones((length, length), dtype=bool), k=-1)
        """, ["attend to itself"], id="q4-hides-the-diagonal"),
    pytest.param("q4", """
        def causal_mask(length):
            return np.eye(length, dtype=bool)
        """, ["every earlier token"], id="q4-only-itself"),
    pytest.param("q4", """
        def causal_mask(length):
            return np.tril(np.ones((length, length)))
        """, ["bool array"], id="q4-float-mask"),
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


WRONG_ANSWERS += [
    pytest.param("q8", """
        def masked_mean(vectors, token_ids):
            return np.asarray(vectors).mean(axis=1)
        """, ["padded positions still count"], id="q8-plain-mean"),
    pytest.param("q8", """
        def masked_mean(vectors, token_ids):
            real = (np.asarray(token_ids) != 0)[..., np.newaxis]
            return (np.asarray(vectors) * real).sum(axis=1) / np.asarray(vectors).shape[1]
        """, ["padded positions still count"], id="q8-divides-by-the-full-length"),
    pytest.param("q8", """
        def masked_mean(vectors, token_ids):
            real = (np.asarray(token_ids) > 1)[..., np.newaxis]
            return (np.asarray(vectors) * real).sum(axis=1) / real.sum(axis=1)
        """, ["[UNK] (index 1)"], id="q8-drops-unknown-words"),
    pytest.param("q8", """
        def masked_mean(vectors, token_ids):
            real = (np.asarray(token_ids) != 0)[..., np.newaxis]
            return (np.asarray(vectors) * real).mean(axis=2)
        """, ["axis=1"], id="q8-averages-the-features"),
    pytest.param("q9", """
        def teacher_forcing_batch(target_ids):
            target_ids = np.asarray(target_ids)
            return target_ids[:, :-1], target_ids[:, :-1], (target_ids[:, :-1] != 0).astype("float32")
        """, ["the word AFTER"], id="q9-no-shift"),
    pytest.param("q9", """
        def teacher_forcing_batch(target_ids):
            target_ids = np.asarray(target_ids)
            return target_ids[:, 1:], target_ids[:, :-1], (target_ids[:, :-1] != 0).astype("float32")
        """, ["starts from [start]"], id="q9-shifted-the-wrong-way"),
    pytest.param("q9", """
        def teacher_forcing_batch(target_ids):
            target_ids = np.asarray(target_ids)
            inputs = target_ids[:, :-1]
            return inputs, target_ids[:, 1:], (inputs != 0).astype("float32")
        """, ["to PREDICT"], id="q9-weights-from-the-inputs"),
    pytest.param("q9", """
        def teacher_forcing_batch(target_ids):
            target_ids = np.asarray(target_ids)
            return target_ids[:, :-1], target_ids[:, 1:], np.ones(target_ids[:, 1:].shape, "float32")
        """, ["0 where it is padding"], id="q9-every-position-counts"),
    pytest.param("q9", """
        def teacher_forcing_batch(target_ids):
            target_ids = np.asarray(target_ids)
            return target_ids[:, :-1], target_ids[:, 1:], target_ids[:, 1:] != 0
        """, ["float32"], id="q9-boolean-weights"),
]


test_a_classic_wrong_answer_fails_with_a_hint = harness.wrong_answer_test(QUESTIONS, WRONG_ANSWERS)


CORRECT_VARIANTS = [
    pytest.param("q4", """
        def causal_mask(length):
            return np.arange(length)[:, None] >= np.arange(length)[None, :]
        """, id="q4-comparison"),
    pytest.param("q4", """
        def causal_mask(length):
            return np.tril(np.ones((length, length))).astype(bool)
        """, id="q4-tril-cast"),
    pytest.param("q4", """
        def causal_mask(length):
            return ~buggy_causal_mask(length) | np.eye(length, dtype=bool)
        """, id="q4-from-the-buggy-one"),
    pytest.param("q8", """
        def masked_mean(vectors, token_ids):
            real = np.not_equal(token_ids, 0).astype("float64")
            return np.einsum("bld,bl->bd", vectors, real) / real.sum(axis=1, keepdims=True)
        """, id="q8-einsum"),
    pytest.param("q8", """
        def masked_mean(vectors, token_ids):
            return np.array([v[ids != 0].mean(axis=0) for v, ids in zip(vectors, token_ids)])
        """, id="q8-loop"),
    pytest.param("q8", """
        def masked_mean(vectors, token_ids):
            mask = keras.ops.cast(keras.ops.not_equal(token_ids, 0), "float64")[..., None]
            pooled = keras.ops.sum(vectors * mask, axis=1) / keras.ops.sum(mask, axis=1)
            return keras.ops.convert_to_numpy(pooled)
        """, id="q8-keras-ops"),
    pytest.param("q9", """
        def teacher_forcing_batch(target_ids):
            inputs, answers = target_ids[:, :-1].copy(), target_ids[:, 1:].copy()
            return inputs, answers, np.where(answers > 0, 1.0, 0.0).astype(np.float32)
        """, id="q9-where"),
    pytest.param("q9", """
        def teacher_forcing_batch(target_ids):
            length = target_ids.shape[1] - 1
            answers = target_ids[:, 1:length + 1]
            return target_ids[:, :length], answers, np.not_equal(answers, 0).astype("float32")
        """, id="q9-explicit-length"),
]


@pytest.mark.parametrize(("question", "answer"), CORRECT_VARIANTS)
def test_a_correct_variant_passes_every_check(question, answer, source_cells, given_namespace):
    _, check = QUESTIONS[question]
    harness.run_answer(given_namespace, answer, harness.cell_source(source_cells[check]))


def test_the_student_version_has_stubs_that_fail_with_a_hint(given_namespace):
    released = harness.read_sources(RELEASE)
    harness.assert_stubs_fail_politely(given_namespace, released, QUESTIONS)
    assert released["q7_written"].strip() == "YOUR ANSWER HERE"
