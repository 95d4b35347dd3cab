"""Each benchmark writes its results between its own two markers in docs/performance.md."""

from __future__ import annotations

from pathlib import Path


def replace_block(doc: Path, start: str, end: str, block: str) -> str:
    """Put `block` between the markers (added at the end when missing); the new text."""
    text = doc.read_text() if doc.exists() else ""
    begin, finish = text.find(start), text.find(end)
    wrapped = f"{start}\n{block}{end}"
    if begin >= 0 and finish > begin:
        text = text[:begin] + wrapped + text[finish + len(end) :]
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + wrapped + "\n"
    doc.write_text(text)
    return text
