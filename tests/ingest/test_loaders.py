"""Loaders turn real files of every supported format into clean SourceDocuments."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from ingest.documents import SourceDocument
from ingest.errors import BadDocument
from ingest.loaders import SUPPORTED_SUFFIXES, humanise, load_document
from tests.conftest import shared_corpus

REPO = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def _load(tmp_path: Path, name: str, content: str | bytes) -> SourceDocument:
    return load_document(_write(tmp_path, name, content), f"docs/{name}")


def _rejection(tmp_path: Path, name: str, content: str | bytes) -> str:
    with pytest.raises(BadDocument) as info:
        _load(tmp_path, name, content)
    message = str(info.value)
    assert message.startswith(f"docs/{name}: ")
    assert "\n" not in message
    return message


def _write_pdf(path: Path, pages: list[str], title: str = "") -> None:
    """Write a minimal valid PDF with one Helvetica text line per page and a correct xref."""
    count = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode() if text else b""
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    objects.append(f"<< /Title ({title}) >>".encode())
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\n" % (len(objects) + 1, len(objects))
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    path.write_bytes(bytes(out))


def _prose_lines(text: str) -> list[str]:
    """Lines outside fenced code blocks."""
    lines, fence = [], ""
    for line in text.split("\n"):
        marker = re.match(r"\s*(`{3,}|~{3,})", line)
        if fence:
            if line.strip() and set(line.strip()) == {fence[0]} and len(line.strip()) >= len(fence):
                fence = ""
        elif marker:
            fence = marker[1]
        else:
            lines.append(line)
    return lines


# --- helpers and dispatch -----------------------------------------------------------------------


def test_humanise_turns_separators_into_spaces_and_capitalises() -> None:
    assert humanise("model-serving_notes") == "Model serving notes"


def test_supported_suffixes_cover_every_documented_format() -> None:
    expected = {".md", ".markdown", ".mdx", ".txt", ".html", ".htm", ".pdf", ".vtt", ".srt"}
    assert expected == SUPPORTED_SUFFIXES


def test_unsupported_suffix_is_rejected(tmp_path: Path) -> None:
    message = _rejection(tmp_path, "slides.pptx", b"PK\x03\x04")
    assert "unsupported file type '.pptx'" in message


def test_unreadable_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(BadDocument, match=r"^docs/missing.md: cannot read file"):
        load_document(tmp_path / "missing.md", "docs/missing.md")


@pytest.mark.parametrize("content", [b"", b"  \n\t\n"], ids=["empty", "whitespace"])
def test_empty_file_is_rejected(tmp_path: Path, content: bytes) -> None:
    assert "file is empty" in _rejection(tmp_path, "notes.md", content)


def test_binary_file_is_rejected(tmp_path: Path) -> None:
    message = _rejection(tmp_path, "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert "binary" in message


def test_non_utf8_file_is_rejected_with_clear_message(tmp_path: Path) -> None:
    message = _rejection(tmp_path, "legacy.md", "# Café notes\n".encode("latin-1"))
    assert "not valid UTF-8" in message


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    doc = _load(tmp_path, "bom.md", b"\xef\xbb\xbf# Title\n\nBody text.\n")
    assert doc.title == "Title"


# --- Markdown ---------------------------------------------------------------------------------


def test_markdown_front_matter_sets_title_kind_and_url(tmp_path: Path) -> None:
    doc = _load(
        tmp_path,
        "guide.md",
        "---\ntitle: Serving Guide\nkind: tutorial\nurl: https://example.org/guide\n---\n"
        "# Heading\n\nBody.\n",
    )
    assert (doc.path, doc.title, doc.kind, doc.url) == (
        "docs/guide.md",
        "Serving Guide",
        "tutorial",
        "https://example.org/guide",
    )
    assert doc.format == "markdown"
    assert len(doc.segments) == 1
    assert "title:" not in doc.text


@pytest.mark.parametrize(
    ("type_", "kind"), [("whitepapers", "whitepaper"), ("news", "news"), ("blog", "doc")]
)
def test_markdown_kind_falls_back_to_mapped_type(tmp_path: Path, type_: str, kind: str) -> None:
    doc = _load(tmp_path, "paper.md", f"---\ntitle: T\ntype: {type_}\n---\nBody.\n")
    assert doc.kind == kind


def test_markdown_url_falls_back_to_first_source(tmp_path: Path) -> None:
    front = "---\nsources:\n  - https://a.example/one\n  - https://b.example/two\n---\n"
    assert _load(tmp_path, "s.md", front + "Body.\n").url == "https://a.example/one"


def test_markdown_site_relative_url_is_ignored(tmp_path: Path) -> None:
    doc = _load(tmp_path, "s.md", "---\nurl: /whitepapers/schedulingai\n---\nBody.\n")
    assert doc.url == ""


def test_markdown_title_falls_back_to_first_heading_outside_code(tmp_path: Path) -> None:
    text = "```bash\n# not a title\n```\n\n## Sub\n\n# Real Title\n\nBody.\n"
    assert _load(tmp_path, "page.md", text).title == "Real Title"


def test_markdown_title_falls_back_to_humanised_stem(tmp_path: Path) -> None:
    assert _load(tmp_path, "model-serving_notes.md", "Just text.\n").title == "Model serving notes"


def test_markdown_malformed_front_matter_is_ignored_without_crashing(tmp_path: Path) -> None:
    doc = _load(tmp_path, "bad.md", "---\ntitle: [unclosed\n: :\n---\n# Fallback\n\nBody.\n")
    assert doc.title == "Fallback"
    assert doc.kind == "doc"
    assert "unclosed" not in doc.text


def test_markdown_toml_front_matter_sets_title(tmp_path: Path) -> None:
    doc = _load(tmp_path, "_index.md", '+++\ntitle = "Kale"\nweight = 10\n+++\n\nBody.\n')
    assert doc.title == "Kale"
    assert doc.text == "Body."


def test_markdown_description_is_not_added_to_body(tmp_path: Path) -> None:
    doc = _load(tmp_path, "d.md", "---\ntitle: T\ndescription: A summary line.\n---\nBody.\n")
    assert "summary" not in doc.text


def test_markdown_with_only_front_matter_is_rejected(tmp_path: Path) -> None:
    message = _rejection(tmp_path, "_index.md", "---\ntitle: Section\n---\n\n")
    assert "no text left" in message


def test_markdown_strips_hugo_shortcodes_but_keeps_inner_text(tmp_path: Path) -> None:
    text = (
        '{{% alert title="Note" color="info" %}}\nKeep this warning.\n{{% /alert %}}\n\n'
        '{{< youtube id="abc" >}}\nVersion {{% kf-latest-version %}} is current.\n'
        "The placeholder `{{% pipelines/latest-version %}}` resolves.\n"
    )
    doc = _load(tmp_path, "hugo.md", text)
    assert "Keep this warning." in doc.text
    assert "{{" not in doc.text and "%}}" not in doc.text
    assert "``" not in doc.text


def test_mdx_imports_and_jsx_tags_are_removed(tmp_path: Path) -> None:
    text = (
        "import Tabs from '@theme/Tabs';\nimport TabItem from '@theme/TabItem';\n"
        "export const W = ({children}) => <span style={{color: 'red'}}>{children}</span>;\n\n"
        '<Tabs>\n  <TabItem value="py" label="Python" default>\n\nInstall the SDK.\n\n'
        "  </TabItem>\n</Tabs>\n\n<details>\n<summary>More</summary>\nHidden detail.\n</details>\n"
        '<ActiveDocsVersion />\n<div className="card"><strong>Fast</strong></div>\n'
    )
    doc = _load(tmp_path, "page.mdx", text)
    for gone in ("import ", "export ", "<", ">", "TabItem", "className"):
        assert gone not in doc.text
    for kept in ("Python", "Install the SDK.", "More", "Hidden detail.", "Fast"):
        assert kept in doc.text


def test_mdx_multiline_jsx_tag_with_nested_braces_is_removed(tmp_path: Path) -> None:
    text = (
        'Intro.\n\n<RequestSchema\n  title={"Body"}\n'
        '  body={{"content":{"application/json":{"schema":{"a>b":[1,{"c":"}"}]}}}}}\n>\n'
        "</RequestSchema>\n\nOutro.\n"
    )
    assert _load(tmp_path, "api.mdx", text).text == "Intro.\n\nOutro."


def test_mdx_api_field_attributes_are_kept_as_text(tmp_path: Path) -> None:
    text = (
        '<ApiField\n  name="apiVersion"\n  type="String"\n  required="true"\n'
        '  description="We are on version <code>v1alpha1</code> of &quot;the&quot; API."\n/>\n'
    )
    doc = _load(tmp_path, "crd.mdx", text)
    assert doc.text == '- apiVersion (String, required): We are on version v1alpha1 of "the" API.'


def test_placeholders_in_angle_brackets_are_kept(tmp_path: Path) -> None:
    text = "Replace <your-namespace> and `<MODEL_NAME>` before running.\n"
    doc = _load(tmp_path, "p.md", text)
    assert doc.text == text.strip()


def test_admonition_markers_are_removed_but_content_kept(tmp_path: Path) -> None:
    text = ":::note\nRead this first.\n:::\n\n:::tip[Expected Output]\nIt works.\n:::\n"
    doc = _load(tmp_path, "a.md", text)
    assert ":::" not in doc.text
    assert "Read this first." in doc.text and "It works." in doc.text
    assert "Expected Output" in doc.text


def test_html_comments_and_toc_marker_are_removed(tmp_path: Path) -> None:
    text = "[TOC]\n\nBefore <!-- hidden\nnote --> after.\n{/* mdx comment */}\n"
    assert _load(tmp_path, "c.mdx", text).text.split() == ["Before", "after."]


def test_footnote_markers_are_removed(tmp_path: Path) -> None:
    text = "Cloud Native[^1] is here[^note].\n\n[^1]: https://example.org\n[^note]: A remark.\n"
    assert _load(tmp_path, "f.md", text).text == "Cloud Native is here."


def test_a_footnote_that_says_something_is_put_where_it_is_cited(tmp_path: Path) -> None:
    text = (
        "Known since 2013[^5], with Docker[^7].\n\n```\nx = y[^5]\n```\n\n"
        "### References\n\n[^5]: First public release of the tool in March 2013.\n"
        "[^7]: (https://example.org/docker\n"
    )
    body = _load(tmp_path, "f.md", text).text
    assert body.startswith(
        "Known since 2013 (First public release of the tool in March 2013), with Docker."
    )
    assert "x = y[^5]" in body  # code is left as written
    assert "example.org" not in body and "[^" not in body.replace("y[^5]", "")


def test_links_keep_their_text_and_images_are_removed(tmp_path: Path) -> None:
    text = (
        "See [the docs](https://x.example/a_(b)) and [ref link][1].\n"
        '![diagram](img/arch.png "Arch")\n\n[1]: https://y.example\n'
    )
    assert _load(tmp_path, "l.md", text).text == "See the docs and ref link."


def test_code_fences_are_left_untouched(tmp_path: Path) -> None:
    code = (
        "```python\nimport kfp\n# heading-like comment\nx = '[link](url)'  # [^1]\n"
        "print('<div>{{% shortcode %}}</div>')\n```\n"
        "~~~\n<!-- kept -->\n:::note\n~~~\n"
        "  ````yaml\n  export PIPELINE_VERSION={{% pipelines/latest-version %}}\n  ````\n"
    )
    doc = _load(tmp_path, "code.md", "Intro [x](y).\n\n" + code)
    assert doc.text == "Intro x.\n\n" + code.rstrip("\n")


def test_markdown_headings_and_tables_are_kept(tmp_path: Path) -> None:
    text = (
        "# Title\n\n## Section\n\n| Name | Notes |\n|---|---|\n"
        "| [KServe](https://kserve.github.io) | a<br/>b |\n"
        '| KFP | <i class="fa-solid fa-check"></i> |\n'
    )
    doc = _load(tmp_path, "t.md", text)
    assert doc.text == (
        "# Title\n\n## Section\n\n| Name | Notes |\n|---|---|\n| KServe | a b |\n| KFP | yes |"
    )


# --- Plain text and HTML ----------------------------------------------------------------------


def test_plain_text_title_is_first_short_line(tmp_path: Path) -> None:
    doc = _load(tmp_path, "notes.txt", "\n\nGPU scheduling notes\n\nBody text here.\n")
    assert (doc.title, doc.format, doc.text) == (
        "GPU scheduling notes",
        "text",
        "GPU scheduling notes\n\nBody text here.",
    )


def test_plain_text_long_first_line_falls_back_to_stem(tmp_path: Path) -> None:
    assert _load(tmp_path, "gpu_notes.txt", "word " * 40).title == "Gpu notes"


def test_html_headings_become_markdown_headings(tmp_path: Path) -> None:
    page = (
        "<html><head><title>Serving Guide</title></head><body>"
        "<h1>Model serving</h1><p>Serve models\n with <a href='x'>KServe</a>.</p>"
        "<h3>Scaling</h3><p>Scale to zero.</p></body></html>"
    )
    doc = _load(tmp_path, "guide.html", page)
    assert (doc.title, doc.format) == ("Serving Guide", "markdown")
    assert (
        doc.text == "# Model serving\n\nServe models with KServe.\n\n### Scaling\n\nScale to zero."
    )


def test_html_title_falls_back_to_first_h1(tmp_path: Path) -> None:
    assert _load(tmp_path, "p.htm", "<h1>Only Heading</h1><p>x</p>").title == "Only Heading"


def test_html_drops_scripts_styles_navigation_and_footer(tmp_path: Path) -> None:
    page = (
        "<style>p{color:red}</style><nav>Home | Docs</nav><p>Content.</p>"
        "<script>alert(1)</script><footer>(c) 2024</footer>"
    )
    assert _load(tmp_path, "p.html", page).text == "Content."


def test_html_list_items_and_pre_blocks_become_markdown(tmp_path: Path) -> None:
    page = (
        "<ul><li>First</li><li><p>Second</p></li></ul>"
        "<pre><code>pip install  kserve\n  kserve --help</code></pre>"
    )
    doc = _load(tmp_path, "p.html", page)
    assert doc.text == "- First\n\n- Second\n\n```\npip install  kserve\n  kserve --help\n```"


# --- PDF --------------------------------------------------------------------------------------


def test_pdf_keeps_page_numbers(tmp_path: Path) -> None:
    path = tmp_path / "cnai_paper.pdf"
    _write_pdf(path, ["Cloud native AI overview", "", "Scheduling GPUs on Kubernetes"])
    assert PdfReader(path).pages[0].extract_text() == "Cloud native AI overview"

    doc = load_document(path, "papers/cnai_paper.pdf")
    assert [(s.text, s.meta) for s in doc.segments] == [
        ("Cloud native AI overview", {"page": 1}),
        ("Scheduling GPUs on Kubernetes", {"page": 3}),
    ]
    assert (doc.title, doc.format) == ("Cnai paper", "text")


def test_pdf_title_comes_from_metadata(tmp_path: Path) -> None:
    path = tmp_path / "x.pdf"
    _write_pdf(path, ["Text"], title="Cloud Native AI Whitepaper")
    assert load_document(path, "x.pdf").title == "Cloud Native AI Whitepaper"


def test_pdf_without_extractable_text_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    _write_pdf(path, ["", ""])
    with pytest.raises(BadDocument, match=r"^docs/scan.pdf: PDF has no extractable text"):
        load_document(path, "docs/scan.pdf")


def test_pdf_that_cannot_be_parsed_is_rejected(tmp_path: Path) -> None:
    message = _rejection(tmp_path, "broken.pdf", b"%PDF-1.4\nthis is not a pdf body")
    assert "PDF" in message


# --- Subtitles --------------------------------------------------------------------------------

VTT = """WEBVTT
Kind: captions

NOTE This comment
spans two lines --

intro
00:00:01.000 --> 00:00:04.500 align:start position:10%
<v Alice>Welcome to the talk
about model serving.</v>

00:01:05.250 --> 00:01:07.000
<c.yellow>Kubernetes</c> schedules &amp; scales.
"""

SRT = """1
00:00:01,000 --> 00:00:04,500
First cue line
second line

2
01:02:05,250 --> 01:02:07,000
<i>Second</i> cue {\\an8}
"""


def test_vtt_cues_keep_start_times(tmp_path: Path) -> None:
    doc = _load(tmp_path, "kubecon-keynote.vtt", VTT)
    assert (doc.title, doc.kind, doc.format) == ("Kubecon keynote", "talk", "text")
    assert [(s.text, s.meta) for s in doc.segments] == [
        (
            "Welcome to the talk about model serving. Kubernetes schedules & scales.",
            {"start": "00:00:01.000", "end": "00:01:07.000"},
        )
    ]


def test_srt_cues_keep_start_times(tmp_path: Path) -> None:
    doc = _load(tmp_path, "talk.srt", SRT)
    assert [(s.text, s.meta) for s in doc.segments] == [
        (
            "First cue line second line Second cue",
            {"start": "00:00:01.000", "end": "01:02:07.000"},
        )
    ]


def test_subtitle_cues_are_grouped_into_segments_of_60_to_90_words(tmp_path: Path) -> None:
    cues = []
    for i in range(20):
        words = " ".join(f"w{i}x{j}" for j in range(10 if i != 7 else 45))
        cues.append(f"{i + 1}\n00:00:{i:02d},000 --> 00:00:{i:02d},900\n{words}\n")
    doc = _load(tmp_path, "long.srt", "\n".join(cues))
    sizes = [len(s.text.split()) for s in doc.segments]
    assert sum(sizes) == 19 * 10 + 45
    assert all(60 <= size <= 90 for size in sizes[:-1])
    starts = [s.meta["start"] for s in doc.segments]
    assert starts[0] == "00:00:00.000" and starts == sorted(starts)
    for (
        segment
    ) in doc.segments:  # a cue is never split: each segment starts with a cue's first word
        assert re.fullmatch(r"w\d+x0", segment.text.split()[0])


def test_subtitle_file_without_cues_is_rejected(tmp_path: Path) -> None:
    message = _rejection(tmp_path, "empty.vtt", "WEBVTT\n\nNOTE nothing here\n")
    assert "no subtitle cues" in message


# --- Shared corpus ----------------------------------------------------------------------------


@pytest.mark.slow
def test_shared_corpus_markdown_loads_without_leftover_markup() -> None:
    corpus = shared_corpus()
    if not corpus.is_dir():
        pytest.skip(f"shared corpus not found at {corpus} (set CNAI_SHARED_CORPUS)")
    files = sorted(p for p in corpus.rglob("*") if p.suffix in {".md", ".mdx"})
    loaded, problems = 0, []
    for path in files:
        rel = str(path.relative_to(corpus))
        try:
            doc = load_document(path, rel)
        except BadDocument:
            continue
        loaded += 1
        for line in _prose_lines(doc.text):
            if "{{<" in line or "{{%" in line or re.match(r"import\s.+\sfrom\s+['\"]", line):
                problems.append(f"{rel}: {line[:80]}")
    assert loaded > len(files) // 2
    assert problems == []
