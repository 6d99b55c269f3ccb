"""The chunker splits on headings and packs whole blocks, never exceeding the token limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.chunker import Chunk, Chunker, split_blocks, split_sections
from ingest.documents import Segment, SourceDocument
from tests.conftest import shared_corpus

REPO = Path(__file__).resolve().parents[2]


def words(text: str) -> int:
    return len(text.split())


def markdown_doc(body: str, title: str = "Guide", path: str = "notes/guide.md") -> SourceDocument:
    return SourceDocument(path=path, title=title, segments=[Segment(body)])


def chunk(body: str, limit: int = 200, title: str = "Guide") -> list[Chunk]:
    return Chunker(words, limit).chunk(markdown_doc(body, title))


def prose(n: int, word: str = "lorem") -> str:
    """A paragraph of n words."""
    return " ".join([word] * n)


CODE = (
    "```python\n" + "\n".join(f"value_{i} = compute({i})  # step {i}" for i in range(8)) + "\n```"
)
TABLE = "\n".join(
    ["| Method | Isolation | Hardware |", "| --- | --- | --- |"]
    + [f"| method {i} | level {i} | kind {i} |" for i in range(6)]
)


def test_sections_split_on_headings_with_the_heading_path_as_breadcrumb():
    intro, serving, scaling, storage = (
        prose(8, "intro"),
        prose(8, "serve"),
        prose(8, "scale"),
        prose(8, "store"),
    )
    body = (
        f"# Guide\n\n{intro}\n\n## Serving\n\n{serving}\n\n### Autoscaling\n\n"
        f"{scaling}\n\n## Storage\n\n{storage}\n"
    )
    chunks = chunk(body, limit=16)  # too small for two sections to share a chunk
    assert [(c.section, c.text) for c in chunks] == [
        ("", intro),
        ("Serving", serving),
        ("Serving > Autoscaling", scaling),
        ("Storage", storage),
    ]
    assert chunks[2].embed_text == f"Guide > Serving > Autoscaling\n{scaling}"
    assert chunks[0].embed_text.startswith("Guide\n")


def test_small_related_sections_share_a_chunk_under_their_headings():
    body = (
        "## Steps\n\n### Read\n\nRead the paper.\n\n### Join\n\nJoin the meetings.\n\n"
        f"## Big\n\n{prose(150)}\n"
    )
    chunks = chunk(body, limit=200)
    assert [c.section for c in chunks] == ["Steps", "Big"]
    assert chunks[0].text == "### Read\nRead the paper.\n\n### Join\nJoin the meetings."
    assert chunks[0].headings == "Guide > Steps > Read > Join"  # the packed headings count too


def test_small_sections_are_not_merged_past_the_token_limit():
    body = "".join(f"## Part {i}\n\n{prose(40)}\n\n" for i in range(4))
    chunks = chunk(body, limit=100)
    assert all(words(c.embed_text) <= 100 for c in chunks)
    assert [c.section for c in chunks] == ["", ""]
    assert "### Part 0" in chunks[0].text and "### Part 2" in chunks[1].text


def test_leading_h1_is_kept_in_section_when_it_differs_from_the_title():
    chunks = chunk("# Overview\n\n## Details\n\nSome text here.\n", title="Guide")
    assert chunks[0].section == "Overview > Details"
    assert chunks[0].embed_text.startswith("Guide > Overview > Details\n")


def test_hash_lines_inside_code_fences_are_not_headings():
    body = (
        "## Setup\n\nRun this:\n\n```bash\n# install the chart\nhelm install x\n```\n\n"
        "~~~\n## not a heading either\n~~~\n\nAfter the code.\n"
    )
    sections = list(split_sections(body))
    assert [path for path, _ in sections] == [[], ["Setup"]]
    assert "# install the chart" in sections[1][1]
    chunks = chunk(body)
    assert {c.section for c in chunks} == {"Setup"}
    assert "## not a heading either" in chunks[0].text


def test_code_block_is_kept_whole_when_the_section_must_be_split():
    body = f"## Example\n\n{prose(30)}\n\n{CODE}\n\n{prose(30, 'ipsum')}\n"
    chunks = chunk(body, limit=60)
    assert len(chunks) > 1
    assert sum(CODE in c.text for c in chunks) == 1
    assert all(c.text.count("```") % 2 == 0 for c in chunks)


def test_table_is_kept_whole_when_it_fits():
    body = f"## Comparison\n\n{prose(40)}\n\n{TABLE}\n\n{prose(40, 'ipsum')}\n"
    assert words(TABLE) < 90
    chunks = chunk(body, limit=100)
    assert len(chunks) > 1
    assert sum(TABLE in c.text for c in chunks) == 1


def test_blocks_are_paragraphs_list_items_whole_fences_and_whole_tables():
    text = f"First para\nstill first.\n\n- one\n- two\n\n{CODE}\n{TABLE}\nAfter the table."
    assert split_blocks(text) == [
        "First para\nstill first.",
        "- one",
        "- two",
        CODE,
        TABLE,
        "After the table.",
    ]


@pytest.mark.parametrize(
    "block", [prose(400), CODE.replace("\n```", "\n" * 2 + prose(300) + "\n```")]
)
def test_oversized_block_alone_is_split_into_pieces_within_the_limit(block: str):
    chunks = chunk(f"## Big\n\nShort lead.\n\n{block}\n\nShort tail.\n", limit=50)
    pieces = [c for c in chunks if c.text not in ("Short lead.", "Short tail.")]
    assert len(pieces) >= words(block) // 50
    assert all(words(c.embed_text) <= 50 for c in chunks)
    assert chunks[0].text == "Short lead." and chunks[-1].text == "Short tail."


def test_every_chunk_fits_the_limit_with_the_real_tokenizer(embedder, tiny_corpus):
    from ingest.loaders import load_document

    chunker = Chunker(embedder.count_tokens, 40)
    for file in sorted(tiny_corpus.glob("*.md")):
        chunks = chunker.chunk(load_document(file, f"notes/{file.name}"))
        assert chunks
        assert max(embedder.count_tokens(c.embed_text) for c in chunks) <= 40


@pytest.mark.parametrize("limit", [220, 96])
def test_every_chunk_of_the_whitepaper_fits_the_limit_with_the_real_tokenizer(embedder, limit):
    loaders = pytest.importorskip("ingest.loaders")
    paper = shared_corpus() / "cnai" / "whitepapers--cloudnativeai.md"
    if not paper.is_file():
        pytest.skip("shared corpus with the CNAI whitepaper is not available")
    doc = loaders.load_document(paper, "cnai/whitepapers--cloudnativeai.md")
    chunks = Chunker(embedder.count_tokens, limit).chunk(doc)
    assert len(chunks) > 20
    sizes = [embedder.count_tokens(c.embed_text) for c in chunks]
    assert max(sizes) <= limit
    assert max(sizes) <= embedder.max_tokens - 2  # nothing the model would truncate


def test_chunk_ids_are_stable_across_runs_and_change_with_the_text():
    body = f"## A\n\nFirst {prose(10)}\n\n## B\n\nSecond {prose(10)}\n"
    first = [c.chunk_id for c in chunk(body, limit=16)]
    again = [c.chunk_id for c in chunk(body, limit=16)]
    edited = [c.chunk_id for c in chunk(body.replace("Second", "Other"), limit=16)]
    assert first == again
    assert len(set(first)) == len(first)
    assert edited[0] == first[0] and edited[1] != first[1]


def test_paged_text_document_keeps_the_page_of_each_chunk():
    doc = SourceDocument(
        path="papers/report.pdf",
        title="Report",
        format="text",
        segments=[
            Segment(prose(30, "alpha"), {"page": 1}),
            Segment(prose(30, "beta"), {"page": 2}),
            Segment(prose(30, "gamma"), {"page": 3}),
        ],
    )
    chunks = Chunker(words, 200).chunk(doc)
    assert [(c.meta, c.section) for c in chunks] == [
        ({"page": 1}, "page 1"),
        ({"page": 2}, "page 2"),
        ({"page": 3}, "page 3"),
    ]
    assert chunks[1].text == prose(30, "beta")


def test_transcript_chunks_keep_start_and_end_times():
    cues = [
        Segment(prose(20, f"w{i}"), {"start": f"00:0{i}:00.000", "end": f"00:0{i}:30.000"})
        for i in range(5)
    ]
    doc = SourceDocument(
        path="talks/t.vtt", title="Talk", kind="talk", format="text", segments=cues
    )
    chunks = Chunker(words, 50).chunk(doc)
    assert [c.meta for c in chunks] == [
        {"start": "00:00:00.000", "end": "00:01:30.000"},
        {"start": "00:02:00.000", "end": "00:03:30.000"},
        {"start": "00:04:00.000", "end": "00:04:30.000"},
    ]
    assert all(c.section == "" for c in chunks)
    assert chunks[0].text == prose(20, "w0") + "\n\n" + prose(20, "w1")
