"""Calibrated abstention: general evidence features of a question, scored by a fitted model.

Unanswerable questions users ask are mostly near misses: the topic is covered, the fact asked
for is not (a GA release when the text gives the alpha, a price, a winner). So besides how
similar the best sentences are, the features ask whether the *kind* of answer asked for and
the question's *qualifiers* appear in or next to the best sentences, and whether the question's
rarer words and names do. A logistic regression over them (fitted by ``cnai calibrate``,
stored as JSON beside this module) gives the probability that the question cannot be answered;
the answerer declines at or above the stored threshold, chosen for precision.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ingest.errors import BadInput
from ingest.store import IndexVersion
from ingest.text import QUESTION_WORDS, content_words, tokenize
from service.answering import figures
from service.retrieval import Hit
from service.vocabulary import Vocabulary

FORMAT = 1
MODEL_FILE = "abstention.json"


@dataclass(frozen=True)
class Tuning:
    """How the evidence is gathered; chosen by hand, not fitted (the model weighs the features)."""

    best_sentences: int = 3  # sentences that make "the best sentences", by answerer score
    neighbours: int = 1  # sentences either side of a best one count as near it
    best_passages: int = 3  # passages whose text counts for the passage-level features
    figure_margin: float = 0.15  # how far below the best score a sentence with the figure may be
    missing_kind_gap: float = 0.5  # kind gap when no retrieved sentence gives the kind at all
    spread_rank: int = 5  # evidence margin: best cosine over the cosine at this rank
    # A word in at least this share of passages is the corpus's topic, not a name answering
    # "who" or "where" (figures.gives).
    topic_share: float = 0.05
    topic_min_passages: int = 3  # and in at least this many (a small index has few passages)


TUNING = Tuning()

# Feature name -> the reason code why_abstained reports when that feature tips the decision.
FEATURES: dict[str, str] = {
    "evidence": "weak_evidence",  # best sentence cosine
    "evidence_margin": "weak_evidence",  # best cosine minus the spread_rank-th
    "passage_similarity": "weak_evidence",  # cosine of the top passage
    "terms_near_best": "missing_terms",  # IDF share of question words in/near best sentences
    "terms_in_passages": "missing_terms",  # IDF share of question words in the best passages
    "rarest_near_best": "missing_terms",  # the question's rarest known word is near the best
    "missing_rarity": "missing_terms",  # IDF of the rarest question word absent near the best
    "unseen_words": "missing_terms",  # question content words the corpus never uses (up to 3)
    "names_near_best": "missing_terms",  # share of the question's names near the best sentences
    # The question asks for a kind of answer (figures.KINDS) and no sentence near the best gives
    # one. Asking for a kind is no evidence by itself, so it is no feature of its own.
    # "Near" takes in the best sentences' neighbours (a year often sits in the next sentence)
    # and their passages' headings (a release note's version is in its title).
    "kind_missing_near_best": "no_figure",
    "kind_gap": "no_figure",  # best score minus the best score of a sentence giving the kind
    "kind_missing_with_terms": "no_figure",  # no sentence gives the kind with a rare word
    "qualifiers_missing": "missing_qualifier",  # question qualifiers absent near the best
}
REASONS = sorted(set(FEATURES.values()))


class ScoredSentence(Protocol):
    """What the answerer scored: a sentence of a retrieved passage."""

    hit_rank: int
    position: int
    text: str
    cosine: float
    score: float


class CorpusStats:
    """Document frequencies of stemmed content words over an index's passages (for IDF)."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.n = max(1, len(texts))
        self.df: Counter[str] = Counter()
        for words in tokenize(list(texts)) if texts else []:
            self.df.update(set(words))

    def idf(self, word: str) -> float:
        return math.log((self.n + 1) / (self.df.get(word, 0) + 0.5))


_stats: dict[int, tuple[IndexVersion, CorpusStats]] = {}


def corpus_stats(version: IndexVersion) -> CorpusStats:
    """The stats of ``version``, computed once per loaded version."""
    held = _stats.get(id(version))
    if held is None or held[0] is not version:
        held = (version, CorpusStats([c.embed_text for c in version.chunks]))
        if len(_stats) > 4:  # old versions after reloads
            _stats.clear()
        _stats[id(version)] = held
    return held[1]


_NAME_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]*[A-Za-z0-9]|[A-Za-z0-9]")


def question_names(question: str) -> list[str]:
    """Named things of a question: words with a capital past the first word, or a digit."""
    tokens = _NAME_TOKEN.findall(question)
    return list(
        dict.fromkeys(
            t
            for i, t in enumerate(tokens)
            if any(ch.isdigit() for ch in t) or (i > 0 and t[0].isupper()) or t[1:] != t[1:].lower()
        )
    )


# Attribution ("as the paper puts it", "in the 0.11 release notes"): where the asker expects the
# answer, not what it is about. Such words are rare in the passages (documents seldom say
# "according to"), so left in they would look like the question's rarest, missing terms.
_ATTRIBUTION = re.compile(
    r"\b(?:according to|per|as (?:stated|described|given) in)\s+(?:the\s+)?"
    r"(?:[\w.+'’-]+\s+){0,4}?(?:white ?papers?|papers?|docs?|documentation|blog(?:\s+posts?)?|"
    r"posts?|articles?|notes|charter|glossary|news|page|table|comparison|footnote|summary)\b",
    re.IGNORECASE,
)


def question_terms(question: str) -> frozenset[str]:
    """Stemmed words that say what a question is about.

    Without its attribution ("according to the whitepaper") and question scaffolding
    ("did", "were", "what": ingest.text.QUESTION_WORDS), which documentation seldom uses and
    IDF would otherwise rank as the question's rarest words.
    """
    text = _ATTRIBUTION.sub(" ", question)
    kept = [t for t in text.split() if t.lower().strip("?,.!;:'\"()") not in QUESTION_WORDS]
    return content_words(" ".join(kept))


def features(
    question: str,
    hits: Sequence[Hit],
    candidates: Sequence[ScoredSentence],
    vocabulary: Vocabulary,
    stats: CorpusStats,
    tuning: Tuning = TUNING,
) -> dict[str, float]:
    """The evidence features of ``question`` (see FEATURES), from what the answerer scored."""
    out = dict.fromkeys(FEATURES, 0.0)
    if not candidates:
        out.update(terms_near_best=0.0, terms_in_passages=0.0, names_near_best=0.0)
        return out
    cosines = sorted((c.cosine for c in candidates), reverse=True)
    out["evidence"] = cosines[0]
    out["evidence_margin"] = cosines[0] - cosines[min(tuning.spread_rank, len(cosines)) - 1]
    out["passage_similarity"] = hits[0].dense if hits else 0.0

    ranked = sorted(candidates, key=lambda c: -c.score)
    best = ranked[: tuning.best_sentences]
    near = _near(best, candidates, tuning.neighbours)
    near_text = " ".join(c.text for c in near)
    near_words = content_words(near_text)
    passages = " ".join(f"{h.chunk.section}\n{h.chunk.text}" for h in hits[: tuning.best_passages])
    words = question_terms(question)
    weights = {w: stats.idf(w) for w in words}
    total = sum(weights.values())
    if total > 0:
        out["terms_near_best"] = sum(v for w, v in weights.items() if w in near_words) / total
        passage_words = content_words(passages)
        out["terms_in_passages"] = sum(v for w, v in weights.items() if w in passage_words) / total
    # Sorted so that ties in IDF break the same way whatever the hash seed.
    known = sorted(w for w in words if stats.df.get(w))
    out["unseen_words"] = float(min(3, len(words) - len(known)))
    absent = [weights[w] for w in known if w not in near_words]
    out["missing_rarity"] = max(absent, default=0.0) / math.log(stats.n + 1)
    if known:
        rarest = max(known, key=weights.__getitem__)
        out["rarest_near_best"] = float(rarest in near_words)
    names = question_names(question)
    lowered = near_text.lower()
    out["names_near_best"] = sum(n.lower() in lowered for n in names) / len(names) if names else 1.0

    kind = figures.asked_kind(question)
    if kind is not None:
        topical = _topical(stats, max(tuning.topic_min_passages, tuning.topic_share * stats.n))
        giving = [c for c in candidates if figures.gives(kind, c.text, question, topical)]
        top = ranked[0].score
        near_ids = {id(c) for c in near}
        near_giving = [
            c for c in giving if c.score >= top - tuning.figure_margin or id(c) in near_ids
        ]
        headed = _headings_giving(kind, question, hits, best)
        out["kind_missing_near_best"] = float(not near_giving and not headed)
        gap = top - max(c.score for c in giving) if giving else tuning.missing_kind_gap
        out["kind_gap"] = 0.0 if headed else gap
        rare = set(sorted(known, key=lambda w: -weights[w])[:2])  # stable sort: ties keep order
        # A passage's heading says what its sentences are about ("Announcing KServe v0.17").
        out["kind_missing_with_terms"] = float(
            not any(rare & (content_words(c.text) | _heading_words(hits, c)) for c in giving)
            and not any(rare & content_words(_passage_text(hits, r)) for r in headed)
        )
    asked = figures.qualifiers(question)
    out["qualifiers_missing"] = float(sum(not figures.states(q, near_text) for q in asked))
    return out


def _topical(stats: CorpusStats, passages: float) -> Callable[[str], bool]:
    """Whether a word is in at least ``passages`` passages (stop words count as topical)."""

    def topical(word: str) -> bool:
        return all(stats.df.get(s, 0) >= passages for s in content_words(word))

    return topical


def _headings_giving(
    kind: figures.FigureKind,
    question: str,
    hits: Sequence[Hit],
    best: Sequence[ScoredSentence],
) -> set[int]:
    """Ranks of the best sentences' passages whose title or heading gives the kind asked.

    Serves release notes: "Which release added X?" is answered by a passage under "Announcing
    v0.14", where no sentence repeats the version. Versions only: a year in a page title (a
    2024 event recap) dates the page, not each thing it mentions.
    """
    if kind.name != "version":
        return set()
    ranks = {c.hit_rank for c in best if 0 <= c.hit_rank < len(hits)}
    return {
        r
        for r in ranks
        if figures.gives(kind, f"{hits[r].chunk.title}. {hits[r].chunk.section}", question)
    }


def _heading_words(hits: Sequence[Hit], sentence: ScoredSentence) -> frozenset[str]:
    if not 0 <= sentence.hit_rank < len(hits):
        return frozenset()
    chunk = hits[sentence.hit_rank].chunk
    return content_words(f"{chunk.title} {chunk.section}")


def _passage_text(hits: Sequence[Hit], rank: int) -> str:
    chunk = hits[rank].chunk
    return f"{chunk.title} {chunk.section} {chunk.text}"


def _near(
    best: Sequence[ScoredSentence], candidates: Sequence[ScoredSentence], reach: int
) -> list[ScoredSentence]:
    """The best sentences and those within ``reach`` of one in the same passage."""
    spots = {(c.hit_rank, c.position) for c in best}
    return [
        c
        for c in candidates
        if any(r == c.hit_rank and abs(p - c.position) <= reach for r, p in spots)
    ]


@dataclass
class Decision:
    probability: float  # that the question cannot be answered from the passages
    abstain: bool
    reason: str | None  # the reason code of the feature that pushed hardest towards abstaining
    feature: str | None  # that feature's name
    contributions: dict[str, float] = field(default_factory=dict)


@dataclass
class Model:
    """A fitted logistic regression over standardised features, and its operating threshold."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    threshold: float
    meta: dict[str, Any] = field(default_factory=dict)  # version, data, cross-validation

    def decide(self, values: dict[str, float]) -> Decision:
        x = np.array([values[f] for f in self.features])
        z = (x - np.array(self.mean)) / np.array(self.scale)
        parts = z * np.array(self.coef)
        logit = float(self.intercept + parts.sum())
        p = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))
        contributions = {f: round(float(v), 4) for f, v in zip(self.features, parts, strict=True)}
        top = max(contributions, key=contributions.__getitem__)
        abstain = p >= self.threshold
        return Decision(
            round(p, 4),
            abstain,
            FEATURES[top] if abstain else None,
            top if abstain else None,
            contributions,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "features": self.features,
            "mean": self.mean,
            "scale": self.scale,
            "coef": self.coef,
            "intercept": self.intercept,
            "threshold": self.threshold,
            **self.meta,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str = "abstention model") -> Model:
        try:
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
            names = [str(f) for f in data["features"]]
            unknown = [f for f in names if f not in FEATURES]
            if unknown:
                raise ValueError(f"unknown features {unknown}")
            arrays = [[float(v) for v in data[key]] for key in ("mean", "scale", "coef")]
            if any(len(a) != len(names) for a in arrays):
                raise ValueError("mean, scale and coef must have one value per feature")
            if any(s <= 0 for s in arrays[1]):
                raise ValueError("every scale must be positive")
            threshold = float(data["threshold"])
            if not 0.0 < threshold < 1.0:
                raise ValueError("threshold must lie between 0 and 1")
            meta = {k: v for k, v in data.items() if k not in _FITTED}
            mean, scale, coef = arrays
            return cls(names, mean, scale, coef, float(data["intercept"]), threshold, meta)
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(f"{where} is not a valid abstention model: {exc}") from None


_FITTED = ("format", "features", "mean", "scale", "coef", "intercept", "threshold")


def load(path: Path | None = None) -> Model:
    """The model at ``path``, or the one shipped with the package."""
    if path is None:
        return _packaged()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read abstention model {path}: {exc}") from None
    return Model.from_json(data, str(path))


@cache
def _packaged() -> Model:
    text = resources.files("service.answering").joinpath(MODEL_FILE).read_text(encoding="utf-8")
    return Model.from_json(json.loads(text), f"service/answering/{MODEL_FILE}")


class Abstention:
    """The abstention policy of one index version: its features and the fitted model."""

    def __init__(self, version: IndexVersion, vocabulary: Vocabulary, model: Model | None = None):
        self.version = version
        self.vocabulary = vocabulary
        self._model = model

    @property
    def model(self) -> Model:
        if self._model is None:
            self._model = load()
        return self._model

    def features(
        self, question: str, hits: Sequence[Hit], candidates: Sequence[ScoredSentence]
    ) -> dict[str, float]:
        stats = corpus_stats(self.version)
        return features(question, hits, candidates, self.vocabulary, stats)

    def decide(
        self, question: str, hits: Sequence[Hit], candidates: Sequence[ScoredSentence]
    ) -> Decision:
        return self.model.decide(self.features(question, hits, candidates))
