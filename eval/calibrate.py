"""``cnai calibrate``: fit the abstention model on the tune split and write it as JSON.

Examples are the tune questions of each question set, asked of the index given for it, plus
near-miss unanswerable questions made by templates: take the topic (section heading) of an
answerable tune question and ask for a fact of a kind the text under that heading never
gives (a price, the GA release, a creator, a percentage, a date). Each template's absence
check runs over every passage under the heading before the question is kept.

Cross-validation on tune chooses the threshold: the lowest probability at which the written
(not templated) tune questions are declined with at least ``TARGET_PRECISION``.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from eval.dataset import Question, load_questions
from ingest.errors import BadInput
from ingest.progress import Progress
from service.answering import figures
from service.answering.abstention import FEATURES, Model
from service.answering.injection import instructs_model
from service.engine import Engine, Timer

TARGET_PRECISION = 0.95  # on cross-validated tune: unseen questions scored ~0.08 below CV
TEMPLATE_WEIGHT = 0.5  # a templated near miss counts half a written question in the fit
FOLDS = 5
REPEATS = 5  # cross-validation repeats whose out-of-fold probabilities choose the threshold
REGULARISATION = 1.0  # scikit-learn's C (inverse strength); the default, not tuned
SEED = 13


@dataclass(frozen=True)
class Template:
    """A near-miss question about a topic, and what a passage giving its answer would hold."""

    name: str
    text: str  # with {topic}
    answer: re.Pattern[str]  # found in a passage under the topic: the template does not apply


_KIND = {k.name: k for k in figures.KINDS}
TEMPLATES = [
    Template("price", "How much does {topic} cost per month?", _KIND["price"].answer),
    Template(
        "ga_release",
        "In which release did {topic} become generally available?",
        re.compile(r"\bGA\b|generally available|general availability|\bstable\b", re.I),
    ),
    Template(
        "creator",
        "Who originally created {topic}?",
        re.compile(r"\b(?:created|developed|founded|built|authored|invented|started) by\b", re.I),
    ),
    Template(
        "share",
        "By what percentage does {topic} cut costs?",
        _KIND["share"].answer,
    ),
    Template("date", "On what date was {topic} first announced?", _KIND["date"].answer),
    Template(
        "place",
        "Which city hosted the first {topic} meetup?",
        re.compile(r"\b(?:in|at) [A-Z][a-z]+\b"),
    ),
]


@dataclass
class Example:
    id: str
    question: str
    unanswerable: bool
    source: str  # "written" or "template:<name>"
    dataset: str
    features: dict[str, float]
    floor: bool  # declined by the min_evidence floor before the model is asked


_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+/-]*[A-Za-z0-9]|[A-Za-z0-9]")
_QUESTION_WORDS = {"what", "which", "who", "how", "why", "when", "where", "is", "does", "do", "can"}


def topics(question: str) -> list[str]:
    """Named things of a question: runs of capitalised words (not its opening question word)."""
    tokens = _TOKEN.findall(question)
    runs: list[list[str]] = []
    for i, t in enumerate(tokens):
        marked = any(ch.isdigit() for ch in t) or t[1:] != t[1:].lower()
        # The first word is capitalised anyway: only a marked one (KServe, K8s) is a name.
        named = marked if i == 0 else t[0].isupper()
        if not named or t.lower() in _QUESTION_WORDS or t in {"I", "A"}:
            runs.append([])
            continue
        if not runs:
            runs.append([])
        runs[-1].append(t)
    return sorted({" ".join(r) for r in runs if r}, key=lambda r: (-len(r.split()), r))


def near_misses(engine: Engine, questions: Sequence[Question]) -> list[tuple[str, str, str]]:
    """(id, question, template) near misses about the named things of answerable questions.

    A template applies to a topic only when no sentence that names the topic, nor one next to
    it, holds what would answer it: the "grep" that keeps a templated question unanswerable.
    """
    version = engine.version
    sentences = [version.sentences(row)[0] for row in range(len(version.chunks))]
    made = []
    seen: set[str] = set()
    answerable = [q for q in questions if q.answerable]
    for i, q in enumerate(answerable):
        for topic in topics(q.question)[:1]:
            if topic.lower() in seen:
                continue
            seen.add(topic.lower())
            needle = topic.lower()
            near = [
                " ".join(part[max(0, j - 1) : j + 2])
                for part in sentences
                for j, text in enumerate(part)
                if needle in text.lower()
            ]
            if not near:
                continue
            for step in range(len(TEMPLATES)):
                template = TEMPLATES[(i + step) % len(TEMPLATES)]
                if not any(template.answer.search(text) for text in near):
                    qid = f"{q.id}-nm-{template.name}"
                    made.append((qid, template.text.format(topic=topic), template.name))
                    break
    return made


def examples(
    engine: Engine,
    questions: Sequence[Question],
    dataset: str,
    k: int = 5,
    templates: bool = True,
    progress: bool = True,
) -> list[Example]:
    """The features of every tune question (and templated near miss) asked of ``engine``."""
    asked = [(q.id, q.question, not q.answerable, "written") for q in questions]
    if templates:
        asked += [
            (i, text, True, f"template:{name}") for i, text, name in near_misses(engine, questions)
        ]
    out = []
    answerer = engine.answerer
    with Progress(
        f"Features of {dataset}", total=len(asked), unit="questions", enabled=progress
    ) as bar:
        for qid, text, unanswerable, source in asked:
            qvec, hits = engine._retrieve(text, k, None, Timer())
            hits = [h for h in hits if not instructs_model(h.chunk.text)]
            candidates = answerer.candidates(text, qvec, hits)
            values = answerer.abstention.features(text, hits, candidates)
            # Declined before the model is asked (ExtractiveAnswerer.screen).
            floor = (
                not candidates
                or values["evidence"] < answerer.min_evidence
                or bool(answerer.vocabulary.unknown_names(text))
            )
            out.append(Example(qid, text, unanswerable, source, dataset, values, floor))
            bar.advance(1)
    return out


def _matrix(items: Sequence[Example]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.array([[e.features[f] for f in FEATURES] for e in items], dtype=float)
    y = np.array([int(e.unanswerable) for e in items])
    w = np.array([1.0 if e.source == "written" else TEMPLATE_WEIGHT for e in items])
    return x, y, w


def _fit(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[Any, Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    scaler.scale_[scaler.scale_ == 0] = 1.0
    lr = LogisticRegression(C=REGULARISATION, class_weight="balanced", max_iter=2000)
    lr.fit(scaler.transform(x), y, sample_weight=w)
    return scaler, lr


def precision_recall(
    declined: Sequence[bool], unanswerable: Sequence[bool]
) -> tuple[float, float, int]:
    """Abstention precision and recall, and how many were declined."""
    tp = sum(d and u for d, u in zip(declined, unanswerable, strict=True))
    n = sum(declined)
    return (tp / n if n else 1.0), (tp / max(1, sum(unanswerable))), n


def choose_threshold(
    probabilities: Sequence[float], floors: Sequence[bool], unanswerable: Sequence[bool]
) -> float:
    """The threshold of best recall whose precision reaches TARGET_PRECISION (ties: highest)."""
    best = (-1.0, 0.0, 0.99)
    for t in sorted({round(p, 4) for p in probabilities if 0 < p < 1} | {0.5}):
        declined = [f or p >= t for p, f in zip(probabilities, floors, strict=True)]
        precision, recall, _ = precision_recall(declined, unanswerable)
        if precision >= TARGET_PRECISION and (recall, t) > best[:2]:
            best = (recall, t, t)
    return min(0.99, max(0.01, best[2]))


def cross_validate(items: Sequence[Example], repeats: int = 1) -> list[list[float]]:
    """Out-of-fold probabilities of every example, one list per repeat of stratified k-fold."""
    from sklearn.model_selection import StratifiedKFold

    x, y, w = _matrix(items)
    out = []
    for repeat in range(repeats):
        p = np.zeros(len(items))
        folds = StratifiedKFold(FOLDS, shuffle=True, random_state=SEED + repeat)
        for train, held in folds.split(x, y):
            scaler, lr = _fit(x[train], y[train], w[train])
            p[held] = lr.predict_proba(scaler.transform(x[held]))[:, 1]
        out.append([float(v) for v in p])
    return out


def sweep(
    probabilities: Sequence[float | None],
    floors: Sequence[bool],
    unanswerable: Sequence[bool],
    thresholds: Sequence[float] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
) -> list[dict[str, float]]:
    """Abstention precision/recall at each threshold (floor declines count at every one)."""
    rows = []
    for t in thresholds:
        declined = [
            f or (p is not None and p >= t) for p, f in zip(probabilities, floors, strict=True)
        ]
        precision, recall, n = precision_recall(declined, unanswerable)
        rows.append(
            {
                "threshold": t,
                "precision": round(precision, 4),
                "recall": round(recall, 4),
                "declined": n,
            }
        )
    return rows


def git_version(root: Path | None = None) -> str:
    root = root or Path(__file__).resolve().parent.parent
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return done.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def calibrate(
    sets: Sequence[tuple[Path, Engine]],
    out: Path,
    k: int = 5,
    templates: bool = True,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> Model:
    """Fit on the tune split of every (question set, engine) pair; write the model to ``out``."""
    items: list[Example] = []
    for dataset, engine in sets:
        questions = load_questions(dataset, "tune")
        items += examples(engine, questions, dataset.name, k, templates, progress)
    everything = items
    # The floor declines before the model is asked: the model is fitted on the rest.
    items = [e for e in everything if not e.floor]
    x, y, w = _matrix(items)
    if y.sum() < FOLDS or (1 - y).sum() < FOLDS:
        raise BadInput(
            f"calibration needs at least {FOLDS} answerable and {FOLDS} unanswerable tune "
            f"questions above the evidence floor; got {(1 - y).sum()} and {y.sum()}"
        )
    log(
        f"fitting on {len(items)} examples ({int(y.sum())} unanswerable, "
        f"{sum(e.source != 'written' for e in items)} templated; "
        f"{len(everything) - len(items)} more declined by the floor)"
    )
    runs = cross_validate(items, REPEATS)
    written = [i for i, e in enumerate(items) if e.source == "written"]
    floored = [e for e in everything if e.floor and e.source == "written"]
    # Every repeat's out-of-fold probabilities pooled: one threshold, less at the mercy of
    # how a single split happened to fall. Floor declines count as declined at any threshold.
    probs = [run[i] for run in runs for i in written] + [1.0] * len(floored) * len(runs)
    floors = [False] * len(written) * len(runs) + [True] * len(floored) * len(runs)
    chosen = [items[i] for _ in runs for i in written] + [e for _ in runs for e in floored]
    labels = [e.unanswerable for e in chosen]
    names = [e.dataset for e in chosen]
    threshold = choose_threshold(probs, floors, labels)
    cv: dict[str, Any] = {
        "folds": FOLDS,
        "repeats": REPEATS,
        "threshold": threshold,
        "sweep": sweep(probs, floors, labels),
    }
    for name in sorted(set(names)):
        idx = [j for j, n in enumerate(names) if n == name]
        declined = [floors[j] or probs[j] >= threshold for j in idx]
        precision, recall, _ = precision_recall(declined, [labels[j] for j in idx])
        cv[name] = {"precision": round(precision, 4), "recall": round(recall, 4)}
    declined = [f or p >= threshold for p, f in zip(probs, floors, strict=True)]
    precision, recall, _ = precision_recall(declined, labels)
    cv["pooled"] = {"precision": round(precision, 4), "recall": round(recall, 4)}
    scaler, lr = _fit(x, y, w)
    model = Model(
        features=list(FEATURES),
        mean=[round(float(v), 6) for v in scaler.mean_],
        scale=[round(float(v), 6) for v in scaler.scale_],
        coef=[round(float(v), 6) for v in lr.coef_[0]],
        intercept=round(float(lr.intercept_[0]), 6),
        threshold=round(threshold, 4),
        meta={
            "version": git_version(),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "split": "tune",
            "datasets": [str(d) for d, _ in sets],
            "indexes": [str(e.version.folder) for _, e in sets],
            "examples": {
                "total": len(everything),
                "fitted": len(items),
                "unanswerable_written": sum(
                    e.unanswerable and e.source == "written" for e in everything
                ),
                "answerable": sum(not e.unanswerable for e in everything),
                "templated": sum(e.source != "written" for e in everything),
            },
            "target_precision": TARGET_PRECISION,
            "cross_validation": cv,
        },
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    import json

    out.write_text(json.dumps(model.to_json(), indent=2) + "\n", encoding="utf-8")
    return model
