"""Reading source files (txt, md, html, pdf) into plain text with an id, a content hash and the
article's metadata (headline, date, outlet, author, URL: rag.metadata).

Files that cannot be used (empty, binary, unreadable, too large, unknown type) are reported as
`Skipped` with the reason; they never stop the others from loading.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rag.errors import SourceError
from rag.metadata import ArticleMeta, Edits, byline, file_date, from_html, from_pdf, split_front_matter, stated_date, \
    title_from_text

logger = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES


@dataclass(frozen=True)
class Source:
    id: str
    path: str  # relative to the sources folder
    title: str
    text: str
    hash: str
    meta: ArticleMeta = ArticleMeta()  # title filled; date from the file when the article gives none


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def source_id(relative_path: str) -> str:
    """A stable id from the file's path inside the sources folder."""
    return hashlib.sha1(relative_path.encode("utf-8")).hexdigest()[:12]


def decode_text(data: bytes) -> str:
    """Decode bytes as UTF-8 (with or without BOM), else cp1252/latin-1 as detected."""
    if b"\x00" in data[:8192]:
        raise SourceError("binary content (NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    encoding = best.encoding if best is not None else "cp1252"
    if encoding.replace("_", "").lower() not in {"cp1252", "latin1", "iso88591", "iso885915"}:
        # Western European news is what we expect; cp1252 is a superset of latin-1's printable range.
        encoding = "cp1252"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return data.decode("latin-1")


# Elements whose text is not the article's: code, metadata, navigation, and controls.
_NOT_TEXT = ["script", "style", "noscript", "template", "head", "nav", "footer", "svg", "canvas", "iframe",
             "object", "button", "select", "form"]
# Elements that end a line of text; everything else (a, span, b, em…) runs on in the same line.
_BLOCKS = {"address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "details", "dialog", "div",
           "dl", "dt", "fieldset", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
           "li", "main", "ol", "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul"}
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


def _hidden(tag) -> bool:
    attrs = getattr(tag, "attrs", None) or {}
    return ("hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true"
            or bool(_HIDDEN_STYLE.search(str(attrs.get("style", "")))))


def html_to_text(html: str) -> tuple[str, str | None]:
    """Every visible text node of an HTML page, one line per block (paragraph, heading, list item, div,
    cell…), and its <title>. Scripts, styles, navigation, footers, forms and hidden elements (`hidden`,
    `aria-hidden="true"`, `display:none`) are left out, and so are comments."""
    from bs4 import BeautifulSoup, NavigableString
    from bs4.element import PreformattedString

    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    for tag in soup(_NOT_TEXT):
        tag.decompose()
    for tag in soup.find_all(_hidden):
        tag.decompose()
    lines: list[str] = []
    current: list[str] = []

    def end_line() -> None:
        text = " ".join("".join(current).split())
        if text:
            lines.append(text)
        current.clear()

    # an explicit stack rather than recursion: deeply nested pages must not overflow Python's stack
    stack: list = [(soup, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            end_line()
            continue
        if isinstance(node, NavigableString):
            if not isinstance(node, PreformattedString):  # comments, doctype, processing instructions
                current.append(re.sub(r"\s+", " ", str(node)))
            continue
        block = node.name in _BLOCKS
        if block:
            end_line()
            stack.append((node, True))
        stack.extend((child, False) for child in reversed(list(node.children)))
    end_line()
    return "\n".join(lines), title


def pdf_to_text(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        with _quiet("pypdf"):  # its warnings on a damaged file are said once, as the skip's reason
            reader = PdfReader(str(path))
            pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise SourceError(f"unreadable PDF ({exc})") from exc
    return "\n".join(p.strip() for p in pages if p.strip())


@contextmanager
def _quiet(name: str) -> Iterator[None]:
    """A library's logger silenced below ERROR for the duration."""
    library = logging.getLogger(name)
    level = library.level
    library.setLevel(logging.ERROR)
    try:
        yield
    finally:
        library.setLevel(level)


def normalise_text(text: str) -> str:
    """Unify line ends and strip trailing blanks; keeps the text otherwise as written."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def _looks_binary(text: str) -> bool:
    sample = text[:4000]
    if not sample:
        return False
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\t\r\f")
    return controls / len(sample) > 0.01


def read_source(path: Path, root: Path, max_bytes: int = 20_000_000, edits: ArticleMeta | None = None) -> Source:
    """Load one file as a Source; raise SourceError with the reason when it cannot be used. `edits`: the
    user's corrections of its metadata, which win over what the file says."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise SourceError(f"unsupported file type {suffix or '(none)'} (use {', '.join(sorted(SUPPORTED_SUFFIXES))})")
    try:
        size = path.stat().st_size
        if size == 0:
            raise SourceError("empty file")
        if size > max_bytes:
            raise SourceError(f"too large ({size:,} bytes > {max_bytes:,})")
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"unreadable ({exc.strerror or exc})") from exc
    if suffix in PDF_SUFFIXES:
        if not data.startswith(b"%PDF"):
            raise SourceError("not a PDF file")
        text = pdf_to_text(path)
        meta = from_pdf(path)
    else:
        text = decode_text(data)
        if _looks_binary(text):
            raise SourceError("binary content")
        if suffix in HTML_SUFFIXES:
            meta = from_html(text)
            text, page_title = html_to_text(text)
            meta = meta.filled_from(ArticleMeta(title=page_title))
        else:
            meta, text = split_front_matter(text)
    text = normalise_text(text)
    if not text:
        raise SourceError("no text in file")
    relative = path.relative_to(root).as_posix()
    meta = (edits or ArticleMeta()).filled_from(meta)
    meta = meta.filled_from(ArticleMeta(title=title_from_text(text) or path.stem, author=byline(text)))
    if not meta.date:
        meta = meta.filled_from(ArticleMeta(date=stated_date(text)))
    if not meta.date:
        meta = meta.filled_from(file_date(path))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Source(id=source_id(relative), path=relative, title=meta.title or path.stem, text=text, hash=digest,
                  meta=meta)


def discover(root: Path) -> list[Path]:
    """Every file below the sources folder (hidden files and folders left out), sorted, with the links
    that lead nowhere (so that they are reported, not silently dropped). Links to folders are not
    followed."""
    if not root.is_dir():
        raise SourceError(f"sources folder not found: {root}")
    return sorted(
        p for p in root.rglob("*")
        if (p.is_file() or _leads_nowhere(p)) and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def _leads_nowhere(path: Path) -> bool:
    """A link whose target is missing, or that loops."""
    return path.is_symlink() and not path.exists()


def check_link(path: Path) -> None:
    """A link that leads nowhere is a `SourceError` saying so."""
    if _leads_nowhere(path):
        raise SourceError("a broken link (its target is missing or it loops): not indexed")


def check_inside(path: Path, root: Path) -> None:
    """A source must lie inside the sources folder: a link that resolves outside it is refused (it could
    show any file the user can read, such as /etc/passwd or a private key, to whoever asks)."""
    target = path.resolve()
    if not target.is_relative_to(root.resolve()):
        raise SourceError(f"a link to a file outside the sources folder ({target}): not indexed "
                          "(set follow_outside_links = true in rag.toml to allow links)")


def load_sources(root: Path, max_bytes: int = 20_000_000,
                 follow_outside_links: bool = False) -> tuple[list[Source], list[Skipped]]:
    """Load every usable file below `root`; unusable ones come back as Skipped with the reason."""
    sources: list[Source] = []
    skipped: list[Skipped] = []
    edits = Edits(root).metas()
    for path in discover(root):
        relative = path.relative_to(root).as_posix()
        try:
            check_link(path)
            if not follow_outside_links:
                check_inside(path, root)
            sources.append(read_source(path, root, max_bytes, edits.get(relative)))
        except SourceError as exc:
            logger.info("skipped %s: %s", relative, exc)
            skipped.append(Skipped(relative, str(exc)))
    return sources, skipped
