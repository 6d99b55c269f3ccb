"""The kind of answer a question asks for, and sentences that give an answer of that kind.

"How much does X cost?" is answered by a price, "how long ..." by a duration, "which release
..." by a version, "who created ..." by a name. A passage on the right topic with some other
figure in it ("started in 2016") does not answer. These kinds are evidence features of the
abstention model (service.answering.abstention), and narrow the sentences an answer quotes.

A question's qualifiers ("GA", "final", "per million tokens", "first") narrow what it asks:
a sentence on a feature's alpha does not say when it went GA.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_WORDS = (
    r"two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundreds?|thousands?|millions?|billions?|dozens?|half|double|twice|several|single"
)
_NUMBER = rf"(?:\d[\d,.]*(?:k|m|bn)?|{_WORDS})"  # 10k, 1.5m
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_CAPITAL = r"\b[A-Z][A-Za-z0-9&'-]*[a-z0-9][A-Za-z0-9&'-]*\b"  # a capitalised word
# A person or an organisation as an answer: a run of two or more capitalised words (a full
# name), or one after "by" ("developed by Google"). A lone capitalised word is most often a
# term the topic uses (Kubernetes, GPU), not the one asked for.
_WHO = rf"{_CAPITAL}(?:\s+{_CAPITAL})+|(?<=\bby\s){_CAPITAL}"


@dataclass(frozen=True)
class FigureKind:
    name: str
    question: re.Pattern[str]
    answer: re.Pattern[str]


def _re(pattern: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    return re.compile(pattern, flags)


# How much a thing changed: a share ("50%"), a multiple ("2x", "10x-20x", "twice", "half") or,
# when money is meant, a price.
_CHANGE = (
    rf"\b{_NUMBER}\s?(?:%|percent)|\b\d[\d,.]*\s?[x×](?!\w)|\b{_NUMBER}[\s-]?(?:times|fold)\b|"
    r"\b(?:half|halved|double[ds]?|twice|triple[ds]?)\b|[$€£]\s?\d"
)

# The first kind whose question pattern matches decides what the answer must hold.
KINDS = [
    # "How much did X save/cut/reduce Y", "how much faster": a change, answered by a share or a
    # multiple as often as by money. Read as a price, a sentence saying "a 50% reduction" or
    # "2x lower latency" would not count as an answer. Questions naming money stay prices.
    FigureKind(
        "change",
        _re(
            r"\bhow much (?:did|does|do|can|could|will|would|has|have|is|was)\b"
            r"(?!.*\b(?:dollars?|money|usd|euros?|budget)\b).*\b(?:sav(?:e|es|ed|ing)|reduc\w*|"
            r"cut|cuts|lower\w*|improv\w*|increas\w*|rais\w*|boost\w*|speed\w* up|shrink\w*|"
            r"decreas\w*|drop\w*)\b|"
            r"\bhow much (?:faster|slower|higher|lower|more|less|better|smaller|larger|cheaper)\b"
        ),
        _re(_CHANGE),
    ),
    FigureKind(
        "price",
        _re(
            r"\bhow much\b.*\b(?:cost|pay|spend|charge|save|saved|dollars?)|"
            r"\b(?:price|pricing|fees?|dollars?)\b|\bcosts?\b.*\bper\b|\bcheapest\b"
        ),
        _re(rf"[$€£]\s?\d|\b{_NUMBER}\s?(?:usd|eur|dollars?|euros?|cents?)\b|\bfree of charge\b"),
    ),
    FigureKind(
        "size",
        _re(r"\bhow (?:much|big|large)\b.*\b(?:memory|ram|vram|storage|disk|space)\b"),
        _re(rf"\b{_NUMBER}\s?(?:[kmgtp]i?b|bytes|[kmgt]igabytes?|gigabytes?|terabytes?)\b"),
    ),
    FigureKind(
        "duration",
        _re(r"\bhow long\b|\bhow many (?:seconds|minutes|hours|days|weeks|months|years)\b"),
        _re(
            rf"\b{_NUMBER}[\s-]?(?:ms|milliseconds?|s|secs?|seconds?|mins?|minutes?|h|hrs?|"
            rf"hours?|days?|weeks?|months?|years?)\b"
        ),
    ),
    FigureKind(
        "share",
        _re(r"\bwhat (?:percentage|percent|share|fraction)\b|\bby what percentage\b|\bpercent"),
        _re(rf"\b{_NUMBER}\s?(?:%|percent)"),
    ),
    FigureKind(
        "version",
        _re(
            r"\b(?:which|what)\s+(?:[\w-]+\s+){0,3}(?:release|version)s?\b(?!\s+of\s+the\s+"
            r"(?:paper|whitepaper|document))"
        ),
        _re(r"\bv?\d+\.\d+(?:\.\d+)?\b|\b(?:release|version)\s+v?\d+\b"),
    ),
    FigureKind(
        "date",
        _re(
            r"\b(?:what|which|in what|on what|on which) (?:year|date|day|month)s?\b|"
            # "when was/did/will": a time; "when would I ...", "when does it ..." ask a condition
            r"\bwhen (?:was|were|did|will)\b"
        ),
        _re(rf"\b(?:19|20)\d\d(?:s|'s)?\b|\b\d{{1,2}}\s+{_MONTH}\b|\b{_MONTH}\.?\s+\d{{1,2}}\b"),
    ),
    FigureKind(
        "count",
        _re(r"\bhow many\b|\bhow much (?:does|did|do|is|was|will)\b.*\b(?:save|use|consume)\b"),
        _re(rf"\b(?!(?:19|20)\d\d\b){_NUMBER}\b"),  # a year is not a count
    ),
    FigureKind(
        "place",
        _re(
            r"\bwhich (?:city|country|countries|region|venue|location)\b|"
            r"\bwhere (?:is|was|will|were|did)\b.*\b(?:held|hosted?|located|take place|be)\b"
        ),
        re.compile(rf"\b(?:in|at|near)\s+{_CAPITAL}"),
    ),
    FigureKind(
        "name",  # a person or an organisation; its answer must hold a word the question lacks
        _re(
            r"^\s*who\b(?!\s+(?:is|are|was|were)\s+(?:a|an)\b)|"
            r"\bwho (?:won|chairs?|leads?|created|built|wrote|made|"
            r"founded|developed|maintains|originally)\b|\bwhich (?:company|companies|"
            r"organi[sz]ations?|vendor|person|people|team|speaker|author|winner)\b"
        ),
        re.compile(_WHO),
    ),
]
KIND_NAMES = tuple(k.name for k in KINDS)
_NAMED = {"name", "place"}


@dataclass(frozen=True)
class Qualifier:
    """A word that narrows what a question asks, and the words that state it in a text."""

    name: str
    question: re.Pattern[str]
    text: re.Pattern[str]


_GA = r"\bGA\b|generally available|general availability|\bstable\b|graduat\w*"
QUALIFIERS = [
    Qualifier("ga", re.compile(_GA.replace(r"\bstable\b", r"\bstable\b(?! diffusion)")), _re(_GA)),
    Qualifier("beta", _re(r"\bbeta\b"), _re(r"\bbeta\b")),
    Qualifier("alpha", _re(r"\balpha\b"), _re(r"\balpha\b")),
    Qualifier("final", _re(r"\bfinal\b"), _re(r"\bfinal\b|\bpublished\b|\bv?1\.0\b")),
    Qualifier(
        "first",
        # "first-time contributors", "first-class support", "at first": no first release
        _re(r"(?<!\bat )\bfirst\b(?!-)|\boriginally\b|\binitial(?:ly)?\b"),
        _re(r"\bfirst\b|\boriginal(?:ly)?\b|\binitial(?:ly)?\b|\bintroduced\b|\bstarted\b"),
    ),
    # Everyday time words ("today", "now", "currently", "next step") ask for no particular
    # release: only "latest", "newest", "most recent", or "current"/"next"/"upcoming" before a
    # release or version do.
    Qualifier(
        "latest",
        _re(
            r"\blatest\b|\bnewest\b|\bmost recent\b|"
            r"\b(?:current|next|upcoming)\s+(?:[\w.-]+\s+)?(?:release|version|stable)s?\b"
        ),
        _re(r"\blatest\b|\bcurrent(?:ly)?\b|\bnewest\b|\brecent\b|\bnext\b|\bupcoming\b"),
    ),
    Qualifier(
        "per_unit",
        _re(
            r"\bper (?:million |thousand |\d+[km]? )?(?:tokens?|month|hour|year|day|gpu|node|"
            r"user|request|query|queries)\b"
        ),
        _re(
            r"\bper (?:million |thousand |\d+[km]? )?(?:tokens?|month|hour|year|day|gpu|node|"
            r"user|request|query|queries)\b|/\s?(?:mo|month|hr|hour|token)\b"
        ),
    ),
]


def asked_kind(question: str) -> FigureKind | None:
    """The kind of answer ``question`` asks for, if any.

    A kind named inside a "why" clause ("what is the scheduler, and why does it matter which
    version we deploy?") or after "how does X decide" ("... decide how many pods to run?") is
    part of the reason or mechanism asked for, not the answer: no kind.
    """
    for kind in KINDS:
        match = kind.question.search(question)
        if match:
            return None if _WHY.search(question, 0, match.start()) else kind
    return None


_WHY = re.compile(
    r"\bwhy\b|\bhow (?:does|do|did|is|are|can|should)\b.*\b(?:decides?|determines?|chooses?|"
    r"picks?|knows?|calculates?|computes?|works? out|figures? out)\b",
    re.IGNORECASE,
)
# Figures that are not what a sentence states: numbers inside links (an arXiv id, an event
# page's number, "kccnceu2024" in a host name).
_LINK = re.compile(r"\]\([^)]*\)|<?https?://\S+|\bwww\.\S+", re.IGNORECASE)
# Numbers that are no count: a day of a month ("May 11", "21 August"), a version ("0.13",
# "v1.27"), an issue or pull request ("#3866"), a range of days ("14-15" after a month).
_NOT_COUNTS = re.compile(
    rf"\b{_MONTH}\.?\s+\d{{1,2}}(?:\s*[-–]\s*\d{{1,2}})?(?:st|nd|rd|th)?\b|"
    rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}\b|\bv?\d+\.\d+(?:\.\d+)*\b|#\d+",
    re.IGNORECASE,
)


def gives(
    kind: FigureKind,
    sentence: str,
    question: str,
    topical: Callable[[str], bool] | None = None,
) -> bool:
    """Whether ``sentence`` holds an answer of ``kind`` that the question does not already state.

    ``topical(word)``, when given, tells words the corpus uses throughout ("Cloud Native",
    "Working Group" over CNAI documents): a name or place made only of such words and the
    question's own is the corpus's topic, not who or where.
    """
    asked = {_norm(f) for f in kind.answer.findall(question)}
    sentence = _LINK.sub(" ", sentence)
    if kind.name == "count":
        sentence = _NOT_COUNTS.sub(" ", sentence)
    found = kind.answer.findall(sentence)
    if kind.name == "name":
        found = [n for n in (_full_name(f) for f in found) if n]
    if kind.name in _NAMED:  # a name answers only with a word the question does not use
        words = set(re.findall(r"[a-z0-9]+", question.lower()))
        new = [set(re.findall(r"[a-z0-9]+", f.lower())) - words for f in found]
        if topical is not None:
            new = [{w for w in n if not topical(w)} for n in new]
        return any(new)
    return any(_norm(f) not in asked for f in found)


# Capitalised for their place in a sentence or a date, not as part of a name: "As India's
# first KubeCon", "The KServe team", "in Banglore May 11".
_NOT_NAME_WORDS = re.compile(
    rf"^(?:the|a|an|as|at|in|on|by|for|from|with|this|that|these|those|our|its|their|and|or|"
    rf"if|when|while|after|before|since|{_MONTH})$",
    re.IGNORECASE,
)


def _full_name(found: str) -> str:
    """A run of capitalised words without sentence-start and month words; '' if no full name
    is left (one word after "by" stays: it matched as the agent of a verb)."""
    words = found.split()
    kept = [w for w in words if not _NOT_NAME_WORDS.match(w)]
    if len(words) > 1 and len(kept) < 2:
        return ""
    return " ".join(kept)


def qualifiers(question: str) -> list[Qualifier]:
    """The qualifiers a question states."""
    return [q for q in QUALIFIERS if q.question.search(question)]


def states(qualifier: Qualifier, text: str) -> bool:
    return bool(qualifier.text.search(text))


def _norm(figure: str) -> str:
    words = figure.lower().rstrip(".,").split()
    return " ".join(w for w in words if w not in {"in", "at", "near"})
