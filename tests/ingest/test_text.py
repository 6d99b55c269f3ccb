"""Sentence spans cover prose sentences and list items, and skip code and tables."""

from __future__ import annotations

from ingest.text import in_list, sentence_spans


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def test_prose_is_split_into_sentences():
    text = (
        "An inference server loads the model once. It batches concurrent requests! "
        "Can it scale down to zero replicas? Yes, with request-based autoscaling."
    )
    assert sentences(text) == [
        "An inference server loads the model once.",
        "It batches concurrent requests!",
        "Can it scale down to zero replicas?",
        "Yes, with request-based autoscaling.",
    ]


def test_abbreviations_do_not_end_a_sentence():
    text = (
        "Sharing works on many cards, e.g. the A100 and H100 families. "
        "Isolation differs, i.e. MPS shares memory. Dr. Smith wrote the guide for J. Doe today."
    )
    assert sentences(text) == [
        "Sharing works on many cards, e.g. the A100 and H100 families.",
        "Isolation differs, i.e. MPS shares memory.",
        "Dr. Smith wrote the guide for J. Doe today.",
    ]


def test_each_list_item_is_a_sentence():
    text = (
        "Three ways to share a GPU:\n\n"
        "- Multi-Instance GPU partitions the card\n"
        "* Multi-Process Service runs kernels together\n"
        "1. Time-slicing takes turns on the device\n"
    )
    assert sentences(text) == [
        "Three ways to share a GPU:",
        "Multi-Instance GPU partitions the card",
        "Multi-Process Service runs kernels together",
        "Time-slicing takes turns on the device",
    ]


def test_code_fences_table_rows_and_headings_are_skipped():
    text = (
        "## Deploying the predictor service\n\n"
        "Apply the manifest with kubectl first.\n\n"
        "```yaml\nkind: InferenceService\n# This comment line is code. It is skipped.\n```\n\n"
        "| Method | Isolation level for each tenant |\n| --- | --- |\n"
        "| MIG | hardware partitions with their own memory |\n\n"
        "Then wait until the service is ready."
    )
    assert sentences(text) == [
        "Apply the manifest with kubectl first.",
        "Then wait until the service is ready.",
    ]


def test_fragments_shorter_than_four_words_are_dropped():
    assert sentences("Yes it is. This sentence is long enough.") == [
        "This sentence is long enough."
    ]


def test_a_short_list_item_is_kept_for_the_line_that_introduces_it():
    text = (
        "The core kinds of control flow are:\n\n1. __Conditions__\n\n2. __Loops__\n\n"
        "- Exit handlers. See below.\n-\n* ---\n"
    )
    assert sentences(text) == [
        "The core kinds of control flow are:",
        "__Conditions__",
        "__Loops__",
        "Exit handlers.",  # the item opens with it; a short sentence after it is still a fragment
    ]


def test_spans_index_the_original_text():
    text = (
        "  Indented lead sentence is here. Second one follows it closely.\n"
        "A wrapped line continues the\nsame sentence across lines.\n\n"
        "- A list item with enough words\n"
    )
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == [
        "Indented lead sentence is here.",
        "Second one follows it closely.",
        "A wrapped line continues the\nsame sentence across lines.",
        "A list item with enough words",
    ]
    assert spans == sorted(spans)
    assert all(0 <= s < e <= len(text) for s, e in spans)
    assert spans[0][0] == text.index("Indented")


def test_text_without_prose_has_no_sentences():
    assert sentence_spans("") == []
    assert sentence_spans("```\nprint('hello world from the code')\n```\n") == []


def test_a_list_holds_its_items_and_their_later_sentences_and_ends_at_the_next_paragraph():
    text = (
        "Three mechanisms share one GPU:\n\n"
        "- **MIG** – partitions the card. Each part is isolated.\n"
        "  1. nested item here\n\n"
        "After the list comes prose. More prose follows it.\n"
    )
    spans = sentence_spans(text)
    flags = in_list(text, spans)
    assert [(text[s:e], flag) for (s, e), flag in zip(spans, flags, strict=True)] == [
        ("Three mechanisms share one GPU:", False),
        ("**MIG** – partitions the card.", True),
        ("Each part is isolated.", True),
        ("nested item here", True),
        ("After the list comes prose.", False),
        ("More prose follows it.", False),
    ]
