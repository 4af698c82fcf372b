"""Which language a debtor writes in, when the account does not tell us yet."""

from __future__ import annotations

from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

_SUPPORTED = {Language.FRENCH: "fr", Language.ENGLISH: "en"}


@lru_cache
def _detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*_SUPPORTED).build()


def detect_language(text: str) -> str | None:
    """'fr' or 'en' for a message with words in it; None for payloads, numbers and empty text."""
    if text.startswith("/") or not any(ch.isalpha() for ch in text):
        return None
    language = _detector().detect_language_of(text)
    return _SUPPORTED.get(language) if language else None
