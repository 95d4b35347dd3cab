"""Film composition: a printed film (film box + image boxes) laid out as a page image,
and pages as a PDF for paper (docs/print-composition.md)."""
