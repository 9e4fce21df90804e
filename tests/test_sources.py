from pathlib import Path

import pytest

from rag.sources import SourceError, load_sources, read_source


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF showing `text` in Helvetica, with a correct xref table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_utf8_and_cp1252_decode_to_the_same_french_text(tmp_path: Path):
    text = "L'été à Montréal : déjà 13 milliards d’euros, « garçon » et cœur."
    (tmp_path / "utf8.txt").write_text(text, "utf-8")
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    (tmp_path / "cp1252.txt").write_bytes(text.encode("cp1252"))
    (tmp_path / "latin1.txt").write_bytes(text.replace("’", "'").replace("œ", "oe").encode("latin-1"))
    sources, skipped = load_sources(tmp_path)
    assert not skipped
    by_path = {s.path: s.text for s in sources}
    assert by_path["utf8.txt"] == by_path["bom.txt"] == by_path["cp1252.txt"] == text
    assert by_path["latin1.txt"] == text.replace("’", "'").replace("œ", "oe")


def test_html_keeps_visible_text_and_drops_markup_and_scripts(tmp_path: Path):
    (tmp_path / "a.html").write_text(
        "<html><head><title>Le titre</title><style>p{color:red}</style></head><body>"
        "<nav>Menu</nav><h1>Gros titre</h1><p>Premier <b>paragraphe</b> ici.</p>"
        "<script>alert('x')</script><ul><li>Point un</li></ul></body></html>", "utf-8")
    source = read_source(tmp_path / "a.html", tmp_path)
    assert source.title == "Gros titre"  # the page's headline (trafilatura), not its <title>
    assert source.text == "Gros titre\nPremier paragraphe ici.\nPoint un"


def test_markdown_and_pdf_load(tmp_path: Path):
    (tmp_path / "note.md").write_text("# Titre de la note\n\nDu texte.", "utf-8")
    (tmp_path / "doc.pdf").write_bytes(minimal_pdf("Microsoft investit dans OpenAI."))
    sources, skipped = load_sources(tmp_path)
    assert not skipped
    by_path = {s.path: s for s in sources}
    assert by_path["note.md"].title == "Titre de la note"
    assert "Microsoft investit dans OpenAI." in by_path["doc.pdf"].text


def test_bad_files_are_skipped_with_their_reason_and_the_rest_loads(tmp_path: Path, monkeypatch):
    (tmp_path / "good.txt").write_text("Un bon article.", "utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_text("  \n\n ", "utf-8")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 3)
    (tmp_path / "big.txt").write_text("x" * 2000, "utf-8")
    (tmp_path / "fake.pdf").write_text("pas un pdf", "utf-8")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\n garbage")
    (tmp_path / "image.png").write_bytes(b"\x89PNG....")
    (tmp_path / "locked.txt").write_text("secret", "utf-8")
    real_read = Path.read_bytes

    def read_bytes(self):
        if self.name == "locked.txt":
            raise PermissionError(13, "Permission denied")
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    sources, skipped = load_sources(tmp_path, max_bytes=1000)
    assert [s.path for s in sources] == ["good.txt"]
    reasons = {s.path: s.reason for s in skipped}
    assert reasons["empty.txt"] == "empty file"
    assert reasons["blank.txt"] == "no text in file"
    assert "binary" in reasons["binary.txt"]
    assert reasons["big.txt"].startswith("too large")
    assert reasons["fake.pdf"] == "not a PDF file"
    assert "PDF" in reasons["broken.pdf"]
    assert reasons["image.png"].startswith("unsupported file type .png")
    assert "Permission denied" in reasons["locked.txt"]


def test_source_ids_are_stable_and_hashes_follow_content(tmp_path: Path):
    f = tmp_path / "a.txt"
    f.write_text("Version un.", "utf-8")
    first = read_source(f, tmp_path)
    f.write_text("Version deux.", "utf-8")
    second = read_source(f, tmp_path)
    assert first.id == second.id and first.hash != second.hash
    with pytest.raises(SourceError):
        read_source(tmp_path / "missing.txt", tmp_path)
