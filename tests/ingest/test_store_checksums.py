"""Every data file's SHA-256 is in the manifest, and a load refuses a file that differs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.errors import IndexMismatch
from ingest.store import DATA_FILES, current_version, load_index, sha256_of


def test_the_manifest_records_the_sha256_of_every_data_file(index_copy: Path):
    folder = current_version(index_copy)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert sorted(manifest["files"]) == sorted(DATA_FILES)
    for name, digest in manifest["files"].items():
        assert digest == sha256_of(folder / name)


@pytest.mark.parametrize("name", DATA_FILES)
def test_a_file_changed_after_writing_is_refused_naming_the_file(index_copy: Path, name: str):
    path = current_version(index_copy) / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: the format may still parse, the hash not
    path.write_bytes(bytes(data))
    with pytest.raises(IndexMismatch, match=rf"{name} is corrupt .*cnai ingest"):
        load_index(index_copy)


def test_a_missing_data_file_is_refused_naming_it(index_copy: Path):
    (current_version(index_copy) / "sentences.npy").unlink()
    with pytest.raises(IndexMismatch, match="sentences.npy is missing"):
        load_index(index_copy)


def test_a_manifest_whose_checksum_does_not_match_is_refused(index_copy: Path):
    folder = current_version(index_copy)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["vectors.faiss"] = "0" * 64
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatch, match="vectors.faiss is corrupt"):
        load_index(index_copy)


def test_an_index_written_before_checksums_still_loads(index_copy: Path):
    folder = current_version(index_copy)
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["files"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert load_index(index_copy).chunks
