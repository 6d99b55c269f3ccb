"""Evidence features of the abstention model on synthetic passages, and the stored model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest

from ingest.chunker import Chunk
from ingest.errors import BadInput
from service.answering import abstention
from service.answering.abstention import FEATURES, REASONS, CorpusStats, Model, features
from service.retrieval import Hit
from service.vocabulary import Vocabulary


@dataclass
class Scored:
    hit_rank: int
    position: int
    text: str
    cosine: float
    score: float


BACKGROUND = [
    "Kubernetes schedules containers onto nodes of a cluster.",
    "A GPU can be shared between pods in several ways.",
    "The release notes list the changes of each version.",
    "Operators watch custom resources and act on them.",
    "Dynamic Resource Allocation lets pods claim devices such as GPUs.",
]


def _pieces(word: str) -> list[str]:
    """Word pieces as an embedder's tokenizer gives them for a word it does not know."""
    return [word[:3], word[3:]]


def _evidence(question: str, sentences: list[str], cosine: float = 0.6) -> dict[str, float]:
    """The features of ``question`` when one passage holding ``sentences`` was retrieved."""
    text = " ".join(sentences)
    chunk = Chunk("c1", "doc.md", "Doc", "doc", "", "Section", text, 0)
    hit = Hit(chunk, score=1.0, dense=cosine, rows=(0,))
    scored = [
        Scored(0, i, s, cosine - 0.01 * i, cosine - 0.01 * i) for i, s in enumerate(sentences)
    ]
    corpus = BACKGROUND + sentences
    vocabulary = Vocabulary(corpus, _pieces)
    return features(question, [hit], scored, vocabulary, CorpusStats(corpus))


def test_a_sentence_holding_a_year_answers_a_what_year_question() -> None:
    question = "In what year did the project join the foundation?"
    given = _evidence(question, ["The project joined the foundation in 2019."])
    missing = _evidence(question, ["The project joined the foundation after a vote."])
    assert given["kind_missing_near_best"] == 0.0 and given["kind_gap"] == 0.0
    assert missing["kind_missing_near_best"] == 1.0 and missing["kind_gap"] > 0.0


def test_a_release_number_answers_a_which_release_question() -> None:
    question = "Which release made Dynamic Resource Allocation generally available?"
    given = _evidence(question, ["Dynamic Resource Allocation is generally available in 1.34."])
    missing = _evidence(question, ["Dynamic Resource Allocation lets pods claim devices."])
    assert given["kind_missing_near_best"] == 0.0 and given["qualifiers_missing"] == 0.0
    assert missing["kind_missing_near_best"] == 1.0 and missing["qualifiers_missing"] == 1.0


def test_an_alpha_release_leaves_the_ga_qualifier_of_the_question_missing() -> None:
    question = "Dynamic Resource Allocation went GA in which Kubernetes release?"
    alpha = _evidence(question, ["Dynamic Resource Allocation arrived as alpha in 1.26."])
    assert alpha["kind_missing_near_best"] == 0.0  # a release is given ...
    assert alpha["qualifiers_missing"] == 1.0  # ... but not the GA one


def test_a_price_answers_a_cost_question_and_another_number_does_not() -> None:
    question = "How much does the managed service cost per month?"
    price = _evidence(question, ["The managed service costs $30 per month for each cluster."])
    other = _evidence(question, ["The managed service runs 3 replicas in each cluster."])
    assert price["kind_missing_near_best"] == 0.0 and price["qualifiers_missing"] == 0.0
    assert other["kind_missing_near_best"] == 1.0 and other["qualifiers_missing"] == 1.0


def test_a_percentage_answers_a_what_percentage_question() -> None:
    question = "By what percentage does time-slicing raise GPU utilisation?"
    assert _evidence(question, ["Time-slicing raised GPU utilisation by 40%."])["kind_gap"] == 0
    assert _evidence(question, ["Time-slicing shares a GPU in turns."])["kind_gap"] > 0


def test_a_person_named_in_the_sentence_answers_a_who_question() -> None:
    question = "Who won the hackathon held by the working group?"
    winner = _evidence(question, ["The hackathon held by the working group was won by Ada Byron."])
    nobody = _evidence(question, ["The hackathon held by the working group drew many teams."])
    assert winner["kind_missing_near_best"] == 0.0
    assert nobody["kind_missing_near_best"] == 1.0


def test_a_question_asking_for_no_kind_of_figure_has_no_kind_features() -> None:
    values = _evidence("Why share a GPU between pods?", ["A GPU can be shared between pods."])
    assert values["kind_missing_near_best"] == values["kind_gap"] == 0.0


def test_rare_question_words_count_when_the_best_sentences_hold_them() -> None:
    question = "How does Dynamic Resource Allocation claim devices?"
    near = _evidence(question, ["Dynamic Resource Allocation lets pods claim devices."])
    far = _evidence(question, ["Operators watch custom resources and act on them."])
    assert near["terms_near_best"] > far["terms_near_best"]
    assert near["missing_rarity"] < far["missing_rarity"]
    assert near["names_near_best"] == 1.0 and far["names_near_best"] < 1.0


def test_a_word_the_corpus_never_uses_is_counted() -> None:
    values = _evidence("can Zorblax share a GPU?", ["A GPU can be shared between pods."])
    known = _evidence("can operators share a GPU?", ["A GPU can be shared between pods."])
    assert values["unseen_words"] == 1.0 and known["unseen_words"] == 0.0


def test_no_candidate_sentence_gives_the_weakest_evidence() -> None:
    values = features("What is MIG?", [], [], Vocabulary(["MIG"], lambda w: [w]), CorpusStats([]))
    assert values["evidence"] == 0.0 and values["terms_near_best"] == 0.0


def _model(**overrides: object) -> dict[str, object]:
    names = list(FEATURES)
    data: dict[str, object] = {
        "format": abstention.FORMAT,
        "features": names,
        "mean": [0.0] * len(names),
        "scale": [1.0] * len(names),
        "coef": [0.0] * len(names),
        "intercept": 0.0,
        "threshold": 0.5,
    }
    data.update(overrides)
    return data


def test_the_decision_names_the_feature_that_pushed_hardest_towards_abstaining() -> None:
    names = list(FEATURES)
    coef = [0.0] * len(names)
    coef[names.index("qualifiers_missing")] = 3.0
    coef[names.index("evidence")] = -1.0
    model = Model.from_json(_model(coef=coef))
    values = dict.fromkeys(names, 0.0) | {"qualifiers_missing": 1.0, "evidence": 0.5}
    decision = model.decide(values)
    assert decision.abstain and decision.probability > 0.9
    assert decision.feature == "qualifiers_missing" and decision.reason == "missing_qualifier"
    calm = model.decide(dict.fromkeys(names, 0.0) | {"evidence": 0.5})
    assert not calm.abstain and calm.reason is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": 99}, "format"),
        ({"features": ["evidence", "no_such_feature"]}, "unknown features"),
        ({"coef": [1.0]}, "one value per feature"),
        ({"threshold": 1.5}, "threshold"),
        ({"scale": [0.0] * len(FEATURES)}, "scale"),
    ],
)
def test_a_malformed_model_is_refused_with_a_clear_error(
    change: dict[str, object], message: str, tmp_path: Path
) -> None:
    path = tmp_path / "model.json"
    path.write_text(json.dumps(_model(**change)))
    with pytest.raises(BadInput, match=message):
        abstention.load(path)


def test_an_unreadable_model_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="cannot read"):
        abstention.load(tmp_path / "missing.json")


def test_the_stored_model_loads_and_records_how_it_was_made() -> None:
    text = resources.files("service.answering").joinpath("abstention.json").read_text()
    data = json.loads(text)
    model = abstention.load()
    assert model.features == list(FEATURES)  # every feature, in the order features() gives
    assert 0.0 < model.threshold < 1.0
    assert data["split"] == "tune" and data["version"] and data["version"] != "unknown"
    assert data["created_at"] and data["datasets"]
    cv = data["cross_validation"]
    assert cv["pooled"]["precision"] >= 0.9  # chosen for precision on cross-validated tune
    assert set(FEATURES.values()) == set(REASONS)


def _evidence_under(
    question: str, title: str, section: str, sentences: list[str]
) -> dict[str, float]:
    """The features of ``question`` when one passage under ``title`` > ``section`` was retrieved."""
    text = " ".join(sentences)
    chunk = Chunk("c1", "doc.md", title, "doc", "", section, text, 0)
    hit = Hit(chunk, score=1.0, dense=0.6, rows=(0,))
    scored = [Scored(0, i, s, 0.6 - 0.01 * i, 0.6 - 0.01 * i) for i, s in enumerate(sentences)]
    corpus = BACKGROUND + sentences
    return features(question, [hit], scored, Vocabulary(corpus, _pieces), CorpusStats(corpus))


def test_a_release_named_in_the_heading_answers_a_which_release_question() -> None:
    question = "Which release added model caching to the serving layer?"
    body = ["Model caching keeps weights on local disks of the serving layer."]
    headed = _evidence_under(question, "Announcing Servo v0.14", "Key Features", body)
    plain = _evidence_under(question, "Servo", "Key Features", body)
    assert headed["kind_missing_near_best"] == 0.0 and headed["kind_gap"] == 0.0
    assert plain["kind_missing_near_best"] == 1.0


def test_a_year_in_a_page_title_does_not_date_what_the_page_mentions() -> None:
    question = "In what year did the project join the foundation?"
    body = ["The project joined the foundation after a vote."]
    recap = _evidence_under(question, "Summit 2024 Recap", "Talks", body)
    assert recap["kind_missing_near_best"] == 1.0


def test_a_year_in_the_sentence_after_a_best_one_counts_as_near_it() -> None:
    question = "In what year did the project join the foundation?"
    # (position, sentence, score): the year's sentence scores far below the best three
    # (positions 0, 2, 3) but follows the best one
    scored = [
        (0, "The project joined the foundation after a long review by the board.", 0.9),
        (1, "That happened in 2019.", 0.3),
        (2, "The review covered governance and adoption.", 0.8),
        (3, "Operators watch custom resources and act on them.", 0.7),
        (4, "Kubernetes schedules containers onto nodes of a cluster.", 0.1),
    ]
    text = " ".join(t for _, t, _ in scored)
    hit = Hit(Chunk("c1", "doc.md", "Doc", "doc", "", "Section", text, 0), 1.0, 0.6, (0,))
    sentences = [Scored(0, p, t, v, v) for p, t, v in scored]
    corpus = BACKGROUND + [t for _, t, _ in scored]
    got = features(question, [hit], sentences, Vocabulary(corpus, _pieces), CorpusStats(corpus))
    assert got["kind_missing_near_best"] == 0.0
    assert got["kind_gap"] > 0.15  # outside the score margin: found by being next to the best


def test_attribution_and_question_scaffolding_are_not_question_terms() -> None:
    terms = abstention.question_terms(
        "What year has the operator shipped since, according to the scheduler design doc?"
    )
    assert terms == abstention.question_terms("What year operator shipped since?")
    assert "whitepap" in abstention.question_terms("Who wrote the whitepaper?")  # the topic


def test_a_name_made_of_words_the_corpus_uses_throughout_does_not_answer_who() -> None:
    question = "Who hosted the meetup where the group presented?"
    topic = "Cloud Native Platform"
    background = [f"{topic} runs workloads on clusters, part {i}." for i in range(10)]
    sentences = [f"The meetup was part of the {topic} community programme."]
    corpus = BACKGROUND + background + sentences
    chunk = Chunk("c1", "doc.md", "Doc", "doc", "", "Section", sentences[0], 0)
    hit = Hit(chunk, score=1.0, dense=0.6, rows=(0,))
    scored = [Scored(0, 0, sentences[0], 0.6, 0.6)]
    got = features(question, [hit], scored, Vocabulary(corpus, _pieces), CorpusStats(corpus))
    assert got["kind_missing_near_best"] == 1.0


def test_a_rare_word_in_the_heading_goes_with_the_figures_of_its_passage() -> None:
    question = "How many first-time committers did the Servo release have?"
    body = "We thank all 38 people who helped, among them 21 newcomers."
    corpus = [*BACKGROUND, body, "Servo serves models over HTTP."]

    def kind_with_terms(title: str) -> float:
        chunk = Chunk("c1", "doc.md", title, "doc", "", "Acknowledgments", body, 0)
        hit = Hit(chunk, score=1.0, dense=0.6, rows=(0,))
        scored = [Scored(0, 0, body, 0.6, 0.6)]
        vocabulary = Vocabulary(corpus, _pieces)
        return features(question, [hit], scored, vocabulary, CorpusStats(corpus))[
            "kind_missing_with_terms"
        ]

    assert kind_with_terms("Announcing Servo v0.17") == 0.0
    assert kind_with_terms("News") == 1.0


_TIED = """
from tests.service.answering.test_abstention import _evidence
sentences = ["Quokkas share a GPU.", "Pods run.", "Nodes run.", "Jobs run.", "Tasks run.",
             "Wombats share a GPU."]
print(_evidence("Do quokkas outnumber wombats?", sentences)["rarest_near_best"])
"""


def test_equally_rare_question_words_give_the_same_features_under_every_hash_seed() -> None:
    # Two words the corpus uses once each, one near the best sentences and one far from them:
    # which counts as "the rarest" must not depend on the order of a set.
    seen = set()
    for seed in ("0", "1", "2", "3", "4", "5"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, "-c", _TIED], env=env, capture_output=True, text=True, check=True
        )
        seen.add(run.stdout.strip())
    assert len(seen) == 1, seen
