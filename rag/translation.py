"""An answer put into the question's language by the answering model.

The prompt asks for the answer "in the language of the question" and, for an English question, ends
with "Answer in English."; the 1.5B model still writes now and then in the articles' French ("SoftBank
au Japon et Oracle aux États-Unis [1]." to "Which competitors…?"). Such an answer, once checked, goes
back to the model as its reply in the same chat, followed by a request to translate it and keep the
`[n]` markers where they are; the caller (`rag.answer`) checks the translation again over the same
passages. The chat so far is the prompt the model just read, so its tokens are in the KV cache: only
the answer and the request are evaluated, then the translation decoded (2 to 4 s more in the #40 runs,
by the answer's length), and the system prompt stays cached for the next question.
"""

from __future__ import annotations

from rag.llm import Messages

REQUESTS = {
    "en": "Translate your answer into English. Keep every number in square brackets, such as [2], where it is. "
          "Reply with the translation only.",
    "fr": "Traduis ta réponse en français. Garde chaque numéro entre crochets, comme [2], à sa place. "
          "Réponds par la traduction seule.",
}


def translation_messages(messages: Messages, answer: str, language: str) -> Messages:
    """The chat `messages` (the prompt `answer` replied to) continued with `answer` and a request for it
    in `language` ("fr" or "en")."""
    return [*messages, {"role": "assistant", "content": answer}, {"role": "user", "content": REQUESTS[language]}]
