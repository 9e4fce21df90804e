"""The news desk in a real browser (Debian's Chromium via Playwright), with the real default models:
article metadata on cards and in the Sources table, a filter that leaves an outlet out, a reload that
restores the conversation, exports downloaded and read back, a 👎 with a correction that reaches
`rag eval --feedback`, and the Évaluation tab's plots. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from test_metadata import JSON_LD_PAGE
from test_ui import ARTIFACTS, ROOT, _ask, _free_port, browser  # noqa: F401 (browser: the shared Chromium)

from rag.config import load_settings
from rag.library import Workspace
from rag.metadata import Edits

pytestmark = [pytest.mark.real, pytest.mark.browser]
EDITS = {"000": ("2025-06-18", "Le Journal"), "002": ("2025-01-15", "Presse-citron"), "003": ("2024-11-02", "Le Blog"),
         "004": ("2025-10-28", "Le Journal")}
QUESTION = "Combien Microsoft a-t-il investi dans OpenAI en 2019 ?"


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    import ui

    home = tmp_path_factory.mktemp("desk")
    shutil.copytree(ROOT / "sources", home / "sources")
    (home / "sources" / "echos.html").write_text(JSON_LD_PAGE, "utf-8")
    for f in (home / "sources").glob("*.txt"):
        if f.name[:3] in EDITS:
            day, outlet = EDITS[f.name[:3]]
            Edits(home / "sources").save(f.name, date=day, outlet=outlet)
    (home / "rag.toml").write_text(f'models_dir = "{ROOT / "models"}"\n', "utf-8")
    workspace = Workspace(load_settings(home))
    demo = ui.build_app(workspace)
    demo.queue(default_concurrency_limit=1)
    port = _free_port()
    ui.launch(demo, workspace, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/", workspace, home
    demo.close()


@pytest.fixture
def context(browser):
    """A fresh browser profile per test (the page keeps its conversation in the browser's storage)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True, locale="fr-FR")
    yield ctx
    ctx.close()


def _open(context, url):
    page = context.new_page()
    page.goto(url)
    page.locator("#question textarea:enabled").wait_for(timeout=180_000)
    return page


def test_metadata_on_the_sources_table_and_the_cards(desk, context):
    url, _, _ = desk
    ARTIFACTS.mkdir(exist_ok=True)
    page = _open(context, url)
    page.get_by_role("tab", name="Sources").click()
    table = page.locator("#sources-table")
    table.get_by_text("Microsoft et OpenAI renégocient leur contrat").wait_for(timeout=30_000)  # JSON-LD headline
    text = table.inner_text()
    for expected in ("Les Echos", "Jeanne Dupont, Paul Martin", "29 juillet 2025", "Bloomberg", "Le Journal",
                     "28 octobre 2025", "echos.html"):
        assert expected in text, expected
    # readable at 1,280 px: the table fits the page, no column pushed off screen
    assert page.evaluate("() => document.querySelector('#sources-table').scrollWidth") <= 1280
    page.screenshot(path=str(ARTIFACTS / "desk-sources.png"), full_page=True)
    page.get_by_role("tab", name="Chat").click()
    _ask(page, QUESTION)
    about = page.locator("#evidence .rag-card .rag-about").first
    about.wait_for(timeout=120_000)
    assert "·" in about.inner_text() or "2025" in about.inner_text() or "2024" in about.inner_text()
    page.screenshot(path=str(ARTIFACTS / "desk-cards.png"), full_page=True)
    page.close()


def test_a_filter_leaves_an_outlet_out(desk, context):
    url, _, _ = desk
    page = _open(context, url)
    only = page.locator("#only input")
    only.click()
    only.fill("Le Journal")
    page.get_by_role("option", name="Le Journal").first.click()
    page.keyboard.press("Escape")
    page.locator("#only .token", has_text="Le Journal").wait_for(timeout=10_000)
    _ask(page, QUESTION)
    page.locator("#evidence .rag-card").first.wait_for(timeout=120_000)
    abouts = page.locator("#evidence .rag-card .rag-about").all_inner_texts()
    assert abouts and all("Le Journal" in a for a in abouts), abouts
    page.screenshot(path=str(ARTIFACTS / "desk-filter.png"), full_page=True)
    page.close()


def test_a_reload_restores_the_conversation_and_exports_download(desk, context, tmp_path):
    url, workspace, _ = desk
    page = _open(context, url)
    _ask(page, QUESTION)
    page.locator("#evidence .rag-card").first.wait_for(timeout=120_000)
    page.locator("#export-md:not([disabled])").wait_for(timeout=30_000)
    answer = page.locator("#chat .message.bot, #chat [data-testid='bot']").last.inner_text()
    page.reload()
    page.locator("#question textarea:enabled").wait_for(timeout=60_000)
    page.locator("#chat", has_text=QUESTION).wait_for(timeout=30_000)
    page.locator("#evidence .rag-card").first.wait_for(timeout=30_000)
    restored = page.locator("#chat .message.bot, #chat [data-testid='bot']").last.inner_text()
    assert restored.split("[")[0].strip() == answer.split("[")[0].strip()
    page.screenshot(path=str(ARTIFACTS / "desk-restored.png"), full_page=True)
    for button, suffix in (("#export-md", ".md"), ("#export-json", ".json")):
        with page.expect_download(timeout=30_000) as download:
            page.locator(button).click()
        saved = tmp_path / f"export{suffix}"
        download.value.save_as(saved)
        text = saved.read_text("utf-8")
        assert QUESTION in text
        if suffix == ".md":
            assert "Sources :" in text and "\n> " in text and ".txt" in text
        else:
            assert json.loads(text)["turns"][-1]["answer"]["passages"]
    page.close()


def test_a_thumbs_down_with_a_correction_reaches_rag_eval_feedback(desk, context):
    url, workspace, home = desk
    page = _open(context, url)
    _ask(page, "Quel est le montant total investi par Microsoft dans OpenAI ?")
    page.locator("#evidence .rag-card").first.wait_for(timeout=120_000)
    page.locator("#export-md:not([disabled])").wait_for(timeout=30_000)  # the answer is stored
    page.locator("#correction textarea").fill("13 milliards de dollars")
    page.locator("#wrong").click()
    page.locator("#feedback-message", has_text="correction enregistrée").wait_for(timeout=30_000)
    reviewed = workspace.conversations.reviewed()
    assert reviewed[-1].correction == "13 milliards de dollars" and reviewed[-1].vote == -1
    result = subprocess.run([sys.executable, "-m", "rag.cli", "eval", "--feedback", "--home", str(home)],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in (home / "eval" / "feedback.jsonl").read_text("utf-8").splitlines()]
    assert {"question": "Quel est le montant total investi par Microsoft dans OpenAI ?",
            "answers": ["13 milliards de dollars"]}.items() <= lines[-1].items()
    assert "reviewed question(s) written" in result.stderr and "reports:" in result.stdout
    page.close()


def test_the_evaluation_tab_shows_the_latest_run_beside_the_one_before(desk, context):
    url, _, home = desk
    for _ in range(2):
        subprocess.run([sys.executable, "-m", "rag.cli", "eval", "--limit", "2", "--home", str(home),
                        "--set", str(ROOT / "eval" / "gold_fr.jsonl")], check=True, capture_output=True, timeout=900)
    reports = sorted((home / "eval" / "reports").glob("*.png"))
    assert len(reports) >= 3  # the report's plots, saved next to it
    page = _open(context, url)
    page.get_by_role("tab", name="Évaluation").click()
    page.locator("#eval-comparison", has_text="précédent").wait_for(timeout=60_000)
    for plot in ("#plot-hitk", "#plot-bars", "#plot-latency"):
        image = page.locator(f"{plot} img")
        image.wait_for(timeout=30_000)
        assert page.evaluate("(el) => el.naturalWidth", image.element_handle()) > 100
    page.screenshot(path=str(ARTIFACTS / "desk-evaluation.png"), full_page=True)
    page.close()


def test_an_english_browser_gets_the_page_in_english(desk, browser):
    """Labels (Gradio's I18n, in the browser) and the server's words (tables, dates, notes, errors) follow the
    browser's first language; the answer follows the question's."""
    url, _, _ = desk
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="en-US")
    page = _open(context, url)
    for name in ("Send", "Report a wrong answer", "New conversation", "Export as Markdown"):
        page.get_by_role("button", name=name).wait_for(timeout=10_000)
    assert page.locator("#question textarea").get_attribute("placeholder") == "Ask a question (French or English)…"
    assert "Since" in page.locator("#since").inner_text() and "Depuis" not in page.locator("#filters").inner_text()
    page.locator("#since input, #since textarea").first.fill("29/07/2025")  # a date the filter cannot read
    _ask(page, "How much did Microsoft invest in OpenAI in 2019?")
    page.locator("#chat", has_text="write it as YYYY-MM-DD").wait_for(timeout=30_000)
    page.locator("#since input, #since textarea").first.fill("2030-01-01")  # a date no article has
    _ask(page, "How much did Microsoft invest in OpenAI in 2019?")
    page.locator("#chat", has_text="no article matches the filter").wait_for(timeout=30_000)
    page.locator("#since input, #since textarea").first.fill("")
    page.get_by_role("tab", name="Sources").click()
    table = page.locator("#sources-table")
    table.get_by_text("Microsoft et OpenAI renégocient leur contrat").wait_for(timeout=30_000)
    words = table.inner_text()
    assert "July 29, 2025" in words and "Outlet" in words and "Média" not in words and "juillet" not in words
    page.locator("#remove").click()
    page.locator("#sources-message", has_text="Choose a source to remove.").wait_for(timeout=30_000)
    page.get_by_role("tab", name="Evaluation").click()
    page.locator("#eval-comparison", has_text=re.compile("latest|No evaluation yet")).wait_for(timeout=60_000)
    assert "dernier" not in page.locator("#eval-comparison").inner_text()
    page.screenshot(path=str(ARTIFACTS / "desk-english.png"), full_page=True)
    context.close()
