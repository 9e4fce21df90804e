"""An answer written in the other language than the question's is translated by the model, checked again,
and kept in its own language when the translation does not pass the check."""

from __future__ import annotations

import pytest

from rag.language import in_other_language
from rag.translation import REQUESTS

QUESTION = "How much did Microsoft inject into OpenAI in 2019?"
FRENCH = "Microsoft injecte 1 milliard de dollars dans OpenAI en 2019 [3]."
ENGLISH = "Microsoft injected 1 billion dollars into OpenAI in 2019 [3]."


@pytest.mark.parametrize("answer, language, other", [
    ("SoftBank au Japon et Oracle aux États-Unis [1].", "en", True),
    (FRENCH, "en", True),
    (ENGLISH, "en", False),
    (ENGLISH, "fr", True),
    ("Stargate [3]", "en", False),  # a bare name is in neither language
    ("Stargate [3]", "fr", False),
    # a quoted French title inside an English sentence
    ("The article « La relation à 13 milliards de dollars entre Microsoft et OpenAI » is by Hugo [1].", "en", False),
])
def test_an_answer_clearly_in_the_other_language_is_told_apart(answer, language, other):
    assert in_other_language(answer, language) is other


def test_an_english_question_answered_in_french_gets_the_checked_translation(assistant_with):
    a = assistant_with(FRENCH, ENGLISH)
    result = a.answer(QUESTION)
    assert result.text == ENGLISH and not result.abstained and result.attempts == 2
    assert "translation_ms" in result.timings
    # the translation continues the answering chat: the same prompt, the answer, then the request
    answering, translating = a.llm.prompts
    assert translating.startswith(answering) and FRENCH.rstrip(".") in translating
    assert REQUESTS["en"] in translating


def test_a_translation_the_check_rejects_leaves_the_answer_in_its_own_language(assistant_with):
    a = assistant_with(FRENCH, "I don't know based on the sources.")
    result = a.answer(QUESTION)
    assert not result.abstained and "1 milliard de dollars" in result.text and result.attempts == 2


def test_an_answer_in_the_question_language_is_not_translated(assistant_with):
    a = assistant_with(ENGLISH)
    result = a.answer(QUESTION)
    assert result.text == ENGLISH and len(a.llm.prompts) == 1 and "translation_ms" not in result.timings


def test_translation_can_be_turned_off(assistant_with):
    a = assistant_with(FRENCH, ENGLISH)
    a.settings.retry.translate = False
    result = a.answer(QUESTION)
    assert "1 milliard de dollars" in result.text and len(a.llm.prompts) == 1
