"""Sentence vectors pooled from one forward pass over the chunk, and length-sorted batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ingest.embed import Embedder, SentencePooling, pool_spans
from ingest.text import sentence_spans

# Four "tokens" of a text "[CLS] ab cd ef [SEP] <pad>": characters 0-2, 3-5, 6-8; specials and
# padding have empty offsets or a zero mask, as a fast tokenizer and its padding give them.
TOKENS = torch.tensor(
    [
        [9.0, 9.0, 9.0],  # [CLS]
        [1.0, 0.0, 0.0],  # "ab"
        [0.0, 1.0, 0.0],  # "cd"
        [0.0, 0.0, 1.0],  # "ef"
        [9.0, 0.0, 9.0],  # [SEP]
        [0.0, 9.0, 9.0],  # padding
    ]
)
OFFSETS = torch.tensor([[0, 0], [0, 2], [3, 5], [6, 8], [0, 0], [0, 0]])
MASK = torch.tensor([1, 1, 1, 1, 1, 0])
PLAIN = SentencePooling(heading_weight=0.0, sharpen=0.0)


def unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, dtype=np.float32)
    return a / np.linalg.norm(a)


def test_a_span_pools_only_the_tokens_it_overlaps_without_specials_or_padding() -> None:
    vecs, seen = pool_spans(TOKENS, OFFSETS, MASK, [(0, 5), (6, 8), (4, 7)], pooling=PLAIN)
    assert seen == [True, True, True]
    np.testing.assert_allclose(vecs[0], unit([1, 1, 0]), atol=1e-6)
    np.testing.assert_allclose(vecs[1], unit([0, 0, 1]), atol=1e-6)
    # a span that starts and ends inside tokens takes both tokens it touches
    np.testing.assert_allclose(vecs[2], unit([0, 1, 1]), atol=1e-6)


def test_a_span_that_only_touches_a_token_boundary_does_not_take_that_token() -> None:
    vecs, _ = pool_spans(TOKENS, OFFSETS, MASK, [(2, 6)], pooling=PLAIN)
    np.testing.assert_allclose(vecs[0], unit([0, 1, 0]), atol=1e-6)


def test_a_span_past_what_the_model_saw_is_flagged_and_left_empty() -> None:
    vecs, seen = pool_spans(TOKENS, OFFSETS, MASK, [(3, 5), (6, 12), (20, 30)], pooling=PLAIN)
    assert seen == [True, False, False]
    assert not vecs[1].any() and not vecs[2].any()


def test_heading_tokens_join_every_pool_with_their_weight() -> None:
    pooling = SentencePooling(heading_weight=0.5, sharpen=0.0)
    vecs, _ = pool_spans(TOKENS, OFFSETS, MASK, [(3, 5), (6, 8)], context=(0, 2), pooling=pooling)
    np.testing.assert_allclose(vecs[0], unit([0.5, 1, 0]), atol=1e-6)
    np.testing.assert_allclose(vecs[1], unit([0.5, 0, 1]), atol=1e-6)
    # a token that is both heading and sentence counts once, at full weight
    vecs, _ = pool_spans(TOKENS, OFFSETS, MASK, [(0, 5)], context=(0, 2), pooling=pooling)
    np.testing.assert_allclose(vecs[0], unit([1, 1, 0]), atol=1e-6)


def test_sharpening_takes_a_share_of_the_text_mean_out_of_each_pool() -> None:
    pooling = SentencePooling(heading_weight=0.0, sharpen=0.3)
    vecs, _ = pool_spans(TOKENS, OFFSETS, MASK, [(0, 5)], pooling=pooling)
    mean = np.array([1, 1, 1]) / 3
    np.testing.assert_allclose(vecs[0], unit(list(np.array([0.5, 0.5, 0]) - 0.3 * mean)), atol=1e-6)


def test_no_spans_give_an_empty_matrix() -> None:
    vecs, seen = pool_spans(TOKENS, OFFSETS, MASK, [])
    assert vecs.shape == (0, 3) and seen == []


CHUNKS = [
    "Kubernetes schedules pods onto nodes. The scheduler weighs requests and affinities.",
    "GPUs are scarce. Sharing them between inference services raises utilisation a lot, "
    "because one small model rarely keeps a whole accelerator busy for long.",
    "Short one.",
]


def test_chunk_vectors_from_the_pooled_pass_equal_plain_encode_in_input_order(
    embedder: Embedder,
) -> None:
    spans = [sentence_spans(t) for t in CHUNKS]
    vecs, sents = embedder.embed_with_sentences(
        CHUNKS, spans, [[t[s:e] for s, e in sp] for t, sp in zip(CHUNKS, spans, strict=True)]
    )
    plain = embedder.model.encode(CHUNKS, normalize_embeddings=True, convert_to_numpy=True)
    np.testing.assert_allclose(vecs, plain, atol=1e-5)
    np.testing.assert_allclose(embedder.embed(CHUNKS), plain, atol=1e-5)
    assert sents.shape == (sum(len(s) for s in spans), embedder.dimension)
    np.testing.assert_allclose(np.linalg.norm(sents, axis=1), 1.0, atol=1e-5)


def test_a_sentence_vector_is_the_mean_of_its_tokens_in_the_chunk_pass(
    embedder: Embedder,
) -> None:
    text = CHUNKS[0]
    span = (text.index("The scheduler"), len(text))
    _, sents = embedder.embed_with_sentences([text], [[span]], [[text[span[0] :]]], pooling=PLAIN)
    tokens = embedder.model.encode(text, output_value="token_embeddings", convert_to_tensor=True)
    enc = embedder.model.tokenizer(text, return_offsets_mapping=True)
    rows = [i for i, (s, e) in enumerate(enc["offset_mapping"]) if e > s and s >= span[0]]
    expected = tokens[rows].mean(dim=0)
    expected = (expected / expected.norm()).cpu().numpy()
    np.testing.assert_allclose(sents[0], expected, atol=1e-5)
    # pooled in context, it is close to but not the same as the sentence embedded alone
    alone = embedder.embed([text[span[0] :]])[0]
    assert 0.6 < float(sents[0] @ alone) < 0.999


def test_a_sentence_cut_off_by_the_input_limit_is_embedded_on_its_own(
    embedder: Embedder,
) -> None:
    tail = "The last sentence talks about autoscaling inference replicas."
    text = "word " * 400 + tail
    span = (text.index(tail), len(text))
    _, sents = embedder.embed_with_sentences([text], [[span]], [[f"Scaling: {tail}"]])
    np.testing.assert_allclose(sents[0], embedder.embed([f"Scaling: {tail}"])[0], atol=1e-5)


def test_mismatched_spans_and_fallbacks_are_refused(embedder: Embedder) -> None:
    with pytest.raises(ValueError, match="one fallback text per span"):
        embedder.embed_with_sentences(["a. b."], [[(0, 2), (3, 5)]], [["a."]])
    with pytest.raises(ValueError, match="one span list"):
        embedder.embed_with_sentences(["a.", "b."], [[(0, 2)]], [["a."]])
