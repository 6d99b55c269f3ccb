"""Turning API answers into Markdown: lists, highlights, breadcrumbs and source links."""

from __future__ import annotations

from service.schemas import AnswerSentence, AskResponse, Citation, Source
from ui.render import answer_markdown, breadcrumb, highlighted, searched_for, source_link

PASSAGE = (
    "Sharing a GPU takes one of these forms:\n\n"
    "- Partitions give each tenant its own memory.\n"
    "- Turns let pods use the card one after another.\n\n"
    "Both raise utilisation."
)


def _source(**kw: object) -> Source:
    base: dict[str, object] = {"path": "cnai/x.md", "title": "X", "section": "", "url": "",
                               "kind": "doc"}  # fmt: skip
    return Source.model_validate({**base, **kw})


def _resp(sentences: list[str], **kw: object) -> AskResponse:
    return AskResponse.model_validate(
        {
            "answer": " ".join(f"{s} [1]" for s in sentences),
            "abstained": False,
            "timings_ms": {},
            "citations": [Citation(id=1, chunk_id="c", text=PASSAGE, source=_source())],
            "sentences": [AnswerSentence(text=s, citations=[1], support=1.0) for s in sentences],
            **kw,
        }  # fmt: skip
    )


def test_list_items_quoted_from_a_list_render_as_a_markdown_list() -> None:
    resp = _resp([
        "Sharing a GPU takes one of these forms:",
        "Partitions give each tenant its own memory.",
        "Turns let pods use the card one after another.",
        "Both raise utilisation.",
    ])  # fmt: skip

    assert answer_markdown(resp).splitlines() == [
        "Sharing a GPU takes one of these forms: [1]",
        "",
        "- Partitions give each tenant its own memory. [1]",
        "- Turns let pods use the card one after another. [1]",
        "",
        "Both raise utilisation. [1]",
    ]


def test_prose_sentences_stay_one_paragraph_and_dollars_are_not_latex() -> None:
    resp = _resp(["Both raise utilisation."])
    resp.sentences.append(AnswerSentence(text="It costs $5 or $6.", citations=[], support=0.0))

    assert answer_markdown(resp) == r"Both raise utilisation. [1] It costs \$5 or \$6."


def test_cited_sentences_are_marked_and_a_paraphrase_is_returned_as_missing() -> None:
    text, missing = highlighted(PASSAGE, ["Both raise utilisation.", "GPUs are shared."])

    assert "<mark>Both raise utilisation.</mark>" in text
    assert missing == ["GPUs are shared."]
    assert highlighted("a <b> tag", [])[0] == "a &lt;b&gt; tag"  # passages cannot inject HTML


def test_searched_for_lists_every_query_and_falls_back_to_the_single_one() -> None:
    assert searched_for(_resp([], retrieval_queries=["a b", "b", "a b"])) == ["a b", "b"]
    assert searched_for(_resp([], retrieval_query="only")) == ["only"]
    assert searched_for(_resp([])) == []


def test_breadcrumb_joins_title_and_heading_path() -> None:
    source = _source(title="Paper", section="Challenges > Model Serving")

    assert breadcrumb(source) == "Paper › Challenges › Model Serving"


def test_source_link_points_at_the_pdf_page_and_the_talk_time() -> None:
    pdf = _source(url="https://example.org/paper.pdf", page=7)
    talk = _source(url="https://www.youtube.com/watch?v=abc&t=5s", start="01:02:03.500")
    video = _source(url="https://example.org/talk.mp4", start="00:00:42.000")

    assert source_link(pdf) == "https://example.org/paper.pdf#page=7"
    assert source_link(talk) == "https://www.youtube.com/watch?v=abc&t=3723s"
    assert source_link(video) == "https://example.org/talk.mp4#t=42"
    assert source_link(_source()) == ""
    assert source_link(_source(url="https://example.org/a")) == "https://example.org/a"
