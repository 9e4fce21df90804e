"""Main text of saved news pages: this project's extraction (BeautifulSoup, every visible text node but
navigation, footers, forms and hidden elements) against trafilatura's main-content extraction.

    python bench/html_extraction.py

Pages: tests/data/pages/*.html (real-shaped: JSON-LD, OpenGraph only, bare, and a full page with a
cookie banner, share buttons, "read also" links, related articles and comments). The article's text is
what its markup says it is (the <h1> and <p> of <article>, the byline aside); everything outside
<article>, and the share/read-also blocks inside it, is boilerplate. For each page and extractor: the
share of article sentences kept (recall) and the share of boilerplate lines let in (noise).
"""

from __future__ import annotations

import sys
from pathlib import Path

from bs4 import BeautifulSoup

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, table  # noqa: E402

from rag.sources import html_to_text, normalise_text  # noqa: E402

PAGES = ROOT / "tests" / "data" / "pages"
BOILERPLATE_INSIDE = ".share, .read-also, .byline"


def truth(html: str) -> tuple[list[str], list[str]]:
    """(article lines, boilerplate lines) as the page's markup marks them."""
    soup = BeautifulSoup(html, "html.parser")
    article = soup.find("article")
    for block in article.select(BOILERPLATE_INSIDE) if article else []:
        block.extract()
    lines = [" ".join(el.get_text(" ", strip=True).split()) for el in (article.find_all(["h1", "p"]) if article else [])]
    for el in soup.find_all("article"):
        el.extract()
    for el in soup(["script", "style", "title", "head"]):
        el.extract()
    noise = [" ".join(t.split()) for t in soup.stripped_strings if len(t.split()) >= 2]
    return [x for x in lines if x], noise


def trafilatura_text(html: str) -> str:
    import trafilatura

    return trafilatura.extract(html, include_comments=False, include_tables=True, favor_precision=False) or ""


def main() -> None:
    rows = []
    for page in sorted(PAGES.glob("*.html")):
        html = page.read_text("utf-8")
        article, noise = truth(html)
        for name, text in (("BeautifulSoup (this project)", normalise_text(html_to_text(html)[0])),
                           ("trafilatura", normalise_text(trafilatura_text(html)))):
            flat = " ".join(text.split())
            kept = sum(line in flat for line in article)
            leaked = sum(line in flat for line in noise)
            rows.append({"page": page.name, "extractor": name, "article kept": f"{kept}/{len(article)}",
                         "boilerplate let in": f"{leaked}/{len(noise)}", "chars": len(text)})
    print(table(rows))


if __name__ == "__main__":
    main()
