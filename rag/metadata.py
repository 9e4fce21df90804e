"""What a reader of news wants to know about each source: its headline, date, outlet, author and URL.

The rules, for each field the first that gives a value:
1. the user's own edits (the Sources tab, `rag meta`), kept in `sources/.rag-metadata.json` so that they
   travel with the articles and survive every rebuild;
2. HTML: the page's JSON-LD `NewsArticle` / `Article` (headline, datePublished, author, publisher),
   read with a JSON parser; then trafilatura's metadata extraction (OpenGraph `og:site_name`,
   `article:published_time`, `<meta name="author">`, the canonical URL; dates by htmldate);
   PDF: the document's own title, author and creation date;
   Markdown and text: a front-matter block (`---` / `title:` `date:` `outlet:` `url:` `author:` / `---`,
   YAML), removed from the indexed text; then a line "Article en référence : <url>" (or "Source :",
   "URL :");
3. a URL gives the outlet (its host: `bloomberg.com` → Bloomberg) and a date written in its path
   (`/2025-07-29/`, `/2025/07/29/`);
4. an article that names its own present ("aujourd'hui, en mai 2025": `stated_date`);
5. no author: a name signed under the headline in the text itself ("Par Marie Dupont", "Hugo. T" on a
   line of its own: `byline`);
6. no date at all: the file's modification date, marked as a guess ("date du fichier").
A real headline is the title; otherwise the first line, when it is short enough to be one.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, fields
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

from rag.errors import SourceError

logger = logging.getLogger(__name__)

EDITS_FILE = ".rag-metadata.json"
EDITABLE = ("title", "date", "outlet", "author", "url")
MAX_TITLE = 150

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.S)
_REFERENCE = re.compile(r"^\s*(?:article en r[ée]f[ée]rence|source|url|lien)\s*:\s*(https?://\S+)", re.I | re.M)
_URL_DATE = re.compile(r"/(20\d\d|19\d\d)[-/](\d\d)[-/](\d\d)(?:/|-|\b)")
MONTHS = {"fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
                 "novembre", "décembre"],
          "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                 "November", "December"]}
# an article that names its own present: "aujourd'hui, en mai 2025", "ce mardi 29 juillet 2025", "as of May 2025"
# month names -> month number (built once), French written without accents too
_MONTH_NUMBERS = {name.lower(): n for names in MONTHS.values() for n, name in enumerate(names, 1)}
_MONTH_NUMBERS.update(fevrier=2, aout=8, decembre=12)
_MONTH_NAMES = "|".join(_MONTH_NUMBERS)
_STATED = re.compile(r"\b(?:aujourd['’]hui|à ce jour|a ce jour|ce (?:lundi|mardi|mercredi|jeudi|vendredi|samedi|"
                     r"dimanche)|today|as of)\s*,?\s*(?:en |le |on |in )?(?:(\d{1,2})(?:er)? )?"
                     rf"({_MONTH_NAMES})(?: (\d{{1,2}}),)? (20\d\d)\b", re.I)
FILE_DATE = {"fr": "date du fichier", "en": "file date"}
# hosts whose outlet name is not their capitalised first label
OUTLETS = {"lemonde.fr": "Le Monde", "lesechos.fr": "Les Echos", "ft.com": "Financial Times", "nytimes.com":
           "The New York Times", "wsj.com": "The Wall Street Journal", "lefigaro.fr": "Le Figaro",
           "bfmtv.com": "BFM TV", "01net.com": "01net", "theverge.com": "The Verge", "techcrunch.com": "TechCrunch",
           "reuters.com": "Reuters", "bloomberg.com": "Bloomberg", "cnbc.com": "CNBC", "zdnet.fr": "ZDNet"}


@dataclass(frozen=True)
class ArticleMeta:
    title: str | None = None
    date: str | None = None  # ISO 8601 day, YYYY-MM-DD
    outlet: str | None = None
    author: str | None = None
    url: str | None = None
    date_guessed: bool = False  # the date is the file's, not the article's

    def filled_from(self, other: "ArticleMeta") -> "ArticleMeta":
        """These values, with the empty ones taken from `other`."""
        values = {f.name: getattr(self, f.name) or getattr(other, f.name) for f in fields(self)
                  if f.name != "date_guessed"}
        guessed = other.date_guessed if not self.date and other.date else self.date_guessed
        return ArticleMeta(**values, date_guessed=guessed)

    def line(self, language: str = "fr") -> str:
        """"Bloomberg · 29 juillet 2025" (with "(date du fichier)" when the date is a guess)."""
        parts = [self.outlet] if self.outlet else []
        if self.date:
            day = format_day(self.date, language)
            parts.append(f"{day} ({FILE_DATE[language]})" if self.date_guessed else day)
        if self.author:
            parts.append(self.author)
        return " · ".join(parts)


def format_day(iso: str, language: str = "fr") -> str:
    """"29 juillet 2025" / "July 29, 2025"; a month alone ("2025-05") as "mai 2025" / "May 2025"."""
    if re.fullmatch(r"\d{4}-\d{2}", iso) and 1 <= int(iso[5:]) <= 12:
        return f"{MONTHS.get(language, MONTHS['fr'])[int(iso[5:]) - 1]} {iso[:4]}"
    try:
        d = date.fromisoformat(iso[:10])
    except ValueError:
        return iso
    month = MONTHS.get(language, MONTHS["fr"])[d.month - 1]
    return f"{d.day} {month} {d.year}" if language == "fr" else f"{month} {d.day}, {d.year}"


def iso_day(value: object) -> str | None:
    """A date-like value (date, datetime, "2025-07-29T10:00:00Z", "2025-07-29") as YYYY-MM-DD, or None."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = re.match(r"(\d{4})-(\d{2})-(\d{2})", text) or re.match(r"D:(\d{4})(\d{2})(\d{2})", text)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except ValueError:
        return None


def outlet_of(url: str | None) -> str | None:
    if not url:
        return None
    host = (urlparse(url).hostname or "").lower().removeprefix("www.")
    if not host:
        return None
    if host in OUTLETS:
        return OUTLETS[host]
    return host.split(".")[0].capitalize() if host.count(".") == 1 else host


def from_url(url: str | None) -> ArticleMeta:
    """The outlet a URL names and a date written in its path."""
    if not url:
        return ArticleMeta()
    match = _URL_DATE.search(urlparse(url).path)
    day = None
    if match:
        try:
            day = date(int(match[1]), int(match[2]), int(match[3])).isoformat()
        except ValueError:
            day = None
    return ArticleMeta(url=url, outlet=outlet_of(url), date=day)


def _names(value: object) -> list[str]:
    """Author/publisher names from JSON-LD (a string, an object with a name, or a list of those)."""
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, list):
        return [n for v in value for n in _names(v)]
    return []


def _json_ld_articles(html: str) -> list[dict]:
    from bs4 import BeautifulSoup

    found: list[dict] = []
    for script in BeautifulSoup(html, "html.parser").find_all("script", type="application/ld+json"):
        try:
            data = json.loads(script.string or script.get_text() or "")
        except (ValueError, TypeError):
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            item = stack.pop(0)
            if not isinstance(item, dict):
                continue
            stack.extend(item.get("@graph", []) if isinstance(item.get("@graph"), list) else [])
            kinds = item.get("@type")
            kinds = kinds if isinstance(kinds, list) else [kinds]
            if any(isinstance(k, str) and k.endswith("Article") for k in kinds):
                found.append(item)
    return found


def from_json_ld(html: str) -> ArticleMeta:
    """The first JSON-LD NewsArticle/Article of a page."""
    for item in _json_ld_articles(html):
        authors = _names(item.get("author"))
        publisher = _names(item.get("publisher"))
        url = item.get("url") if isinstance(item.get("url"), str) else None
        return ArticleMeta(title=(item.get("headline") or item.get("name") or None) if isinstance(
            item.get("headline") or item.get("name"), str) else None,
            date=iso_day(item.get("datePublished") or item.get("dateCreated")),
            outlet=publisher[0] if publisher else None, author=", ".join(authors) or None, url=url)
    return ArticleMeta()


def from_html(html: str) -> ArticleMeta:
    """JSON-LD first, then trafilatura (OpenGraph, meta tags, canonical URL, htmldate)."""
    meta = from_json_ld(html)
    try:
        from trafilatura import extract_metadata

        # htmldate without its extensive search, which takes a copyright year in a footer for a date
        found = extract_metadata(html, date_config={"extensive_search": False, "original_date": True})
    except ImportError:
        logger.warning("trafilatura is not installed: HTML metadata from JSON-LD only")
        found = None
    except Exception as exc:  # a page trafilatura cannot parse still gets its JSON-LD
        logger.info("trafilatura could not read the page's metadata: %s", exc)
        found = None
    if found is not None:
        author = (found.author or "").replace("; ", ", ") or None
        meta = meta.filled_from(ArticleMeta(title=found.title, date=iso_day(found.date), outlet=found.sitename,
                                            author=author, url=found.url))
    return meta.filled_from(from_url(meta.url))


def split_front_matter(text: str) -> tuple[ArticleMeta, str]:
    """Metadata from a Markdown/text file's front matter (and its text without it), else from a
    reference line; the text is returned unchanged then."""
    match = _FRONT_MATTER.match(text)
    if match:
        import yaml

        try:
            values = yaml.safe_load(match[1])
        except yaml.YAMLError:
            values = None
        if isinstance(values, dict):
            lowered = {str(k).lower(): v for k, v in values.items()}

            def pick(*keys: str) -> str | None:
                for key in keys:
                    value = lowered.get(key)
                    if isinstance(value, (str, int, float)) and str(value).strip():
                        return str(value).strip()
                    if isinstance(value, list) and value:
                        return ", ".join(str(v) for v in value)
                return None

            meta = ArticleMeta(title=pick("title", "titre", "headline"),
                               date=iso_day(lowered.get("date") or lowered.get("published")),
                               outlet=pick("outlet", "média", "media", "publisher", "site", "source"),
                               author=pick("author", "auteur", "authors"), url=pick("url", "link", "lien"))
            return meta.filled_from(from_url(meta.url)), text[match.end():]
    reference = _REFERENCE.search(text[:5000])
    return (from_url(reference[1].rstrip(".,;)")) if reference else ArticleMeta()), text


_LOWER = "a-zà-öø-ÿ’'"
_NAME_WORD = rf"(?:[A-ZÀ-ÖØ-Þ](?:[{_LOWER}]+(?:-[A-ZÀ-ÖØ-Þ][{_LOWER}]+)*\.?|\.)?)"  # Hugo, Marie-Claire, T, J.
_PERSON = rf"{_NAME_WORD}(?: {_NAME_WORD}){{1,3}}"
_SIGNED = re.compile(rf"^(?i:par|by|written by|écrit par|ecrit par)\s+(?P<name>{_PERSON})"
                     rf"(?:\s*(?:,| et | and |&)\s*(?P<more>{_PERSON}))?(?:\s*[,|·—–-].*)?$")
_BARE = re.compile(rf"^(?P<name>{_PERSON})$")
# words that open a heading, an outlet's name or a section, not a person's name
_NOT_A_NAME = {"le", "la", "les", "l", "un", "une", "des", "du", "de", "the", "a", "an", "in", "on", "en", "au",
               "aux", "par", "by", "sommaire", "contexte", "introduction", "conclusion", "résumé", "resume",
               "summary", "analyse", "analysis", "actualité", "actualités", "news", "mise", "update", "publié",
               "published", "mis", "edited", "microsoft", "openai", "google", "apple", "amazon", "meta"}


def byline(text: str, lines: int = 3, lede_words: int = 8) -> str | None:
    """The author an article's text (of any format) names under its headline: "Par Marie Dupont", "By
    Jane Doe, Reuters", or a bare name on a line of its own ("Hugo. T"), among the `lines` non-empty
    lines that follow the headline and come before the lede (the first line of `lede_words` words or
    more). A bare line must be two to four capitalised words or initials, the first not a determiner or
    a heading's word ("Le Monde", "Contexte", "Microsoft Azure" are not signatures); a file whose first
    line is already the lede has no byline here. A wrong guess is corrected in the Sources tab
    (`Edits`), like any other field."""
    rows = [line.strip() for line in text[:2000].split("\n") if line.strip()][:lines + 1]
    if not rows or len(rows[0]) > MAX_TITLE or len(rows[0].split()) >= 3 * lede_words:
        return None
    for row in rows[1:]:
        if len(row) <= 80 and (match := _SIGNED.match(row)):
            return ", ".join(n.strip() for n in (match["name"], match["more"]) if n)
        first = re.split(r"[\s.’']", row, maxsplit=1)[0].lower()
        if len(row) <= 40 and _BARE.match(row) and first not in _NOT_A_NAME:
            return row
        if len(row.split()) >= lede_words:
            return None
    return None


def stated_date(text: str, within: int = 3000) -> str | None:
    """The date an article gives as its own present in its first `within` characters ("aujourd'hui, en
    mai 2025" → "2025-05"; "ce mardi 29 juillet 2025" → "2025-07-29"): a day, or a month when no day is
    named."""
    match = _STATED.search(text[:within])
    if not match:
        return None
    month = _MONTH_NUMBERS[match[2].lower()]
    day = match[1] or match[3]
    if not day:
        return f"{match[4]}-{month:02d}"
    try:
        return date(int(match[4]), month, int(day)).isoformat()
    except ValueError:
        return None


def from_pdf(path: Path) -> ArticleMeta:
    try:
        from pypdf import PdfReader

        info = PdfReader(str(path)).metadata or {}
    except Exception:  # metadata is a bonus: the text was read already
        return ArticleMeta()
    return ArticleMeta(title=str(info.get("/Title") or "").strip() or None,
                       author=str(info.get("/Author") or "").strip() or None,
                       date=iso_day(str(info.get("/CreationDate") or "")))


def title_from_text(text: str, cut: int = 120) -> str:
    """The first line when it is short enough to be a headline, else its first `cut` characters, cut at
    a word, with an ellipsis."""
    line = text.split("\n", 1)[0].strip()
    first = line.lstrip("# ").strip()
    if first and len(first) <= MAX_TITLE:
        return first
    return cut_at_word(line, cut)


def cut_at_word(text: str, cut: int) -> str:
    """`text` when at most `cut` characters, else its first `cut` characters, cut at a word, with an ellipsis."""
    if len(text) <= cut:
        return text
    return text[:cut].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def file_date(path: Path) -> ArticleMeta:
    day = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc).date().isoformat()
    return ArticleMeta(date=day, date_guessed=True)


class Edits:
    """The user's corrections, by file path relative to the sources folder (`sources/.rag-metadata.json`)."""

    def __init__(self, sources_dir: Path) -> None:
        self.path = sources_dir / EDITS_FILE

    def load(self) -> dict[str, dict[str, str]]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            logger.warning("%s is unreadable (%s): edits ignored", self.path, exc)
            return {}
        return {str(k): {f: str(v) for f, v in vals.items() if f in EDITABLE and v}
                for k, vals in data.items() if isinstance(vals, dict)} if isinstance(data, dict) else {}

    def metas(self) -> dict[str, ArticleMeta]:
        """Every corrected file's corrections (the file is read once)."""
        return {path: ArticleMeta(**values) for path, values in self.load().items()}

    def save(self, relative_path: str, **values: str | None) -> None:
        """Set (or, with an empty value, clear) fields for one file; a date must be YYYY-MM-DD."""
        unknown = set(values) - set(EDITABLE)
        if unknown:
            raise SourceError(f"unknown metadata field(s) {', '.join(sorted(unknown))} (editable: {', '.join(EDITABLE)})")
        if values.get("date") and iso_day(values["date"]) != values["date"]:
            raise SourceError(f"date {values['date']!r}: write it as YYYY-MM-DD (2025-07-29)")
        data = self.load()
        current = {**data.get(relative_path, {}), **{k: v.strip() for k, v in values.items() if v and v.strip()}}
        for key in [k for k, v in values.items() if not (v and v.strip())]:
            current.pop(key, None)
        if current:
            data[relative_path] = current
        else:
            data.pop(relative_path, None)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True), "utf-8")
        tmp.replace(self.path)

