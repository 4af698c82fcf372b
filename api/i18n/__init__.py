"""Translation catalog (one YAML file per language, next to this module) and locale-aware money and dates
for user-facing text that does not live in domain.yml: documents, e-mails, api messages.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from babel.dates import format_date as _babel_format_date
from babel.dates import format_datetime as _babel_format_datetime
from babel.numbers import format_currency, get_currency_precision

FALLBACK_LANGUAGE = "en"
# Supported languages and the locale that formats their money and dates; a new language adds a line here
# and a <language>.yml catalog.
LOCALES = {"en": "en_GB", "fr": "fr_FR"}
_CATALOG_DIR = Path(__file__).parent


def t(key: str, language: str, **params: Any) -> str:
    """The text for `key` in `language` (English if that language lacks it), with `params` filled in."""
    for candidate in (_supported(language), FALLBACK_LANGUAGE):
        text = _catalog(candidate).get(key)
        if text is not None:
            return text.format(**params)
    raise KeyError(f"no translation for {key!r} in {language!r} nor in {FALLBACK_LANGUAGE!r}")


def format_money(minor: int, currency: str, language: str) -> str:
    """`minor` units of `currency` as the language's readers write money, e.g. 1234,56 € or €1,234.56."""
    major = Decimal(minor).scaleb(-get_currency_precision(currency))  # exact: no float on the way
    return format_currency(major, currency, locale=LOCALES[_supported(language)])


def format_date(d: date, language: str) -> str:
    """A date spelled out (31 janvier 2026, 31 January 2026), so day and month cannot be swapped."""
    return _babel_format_date(d, format="long", locale=LOCALES[_supported(language)])


def format_datetime(moment: datetime, language: str) -> str:
    """A day and time in the moment's own timezone (lundi 7 décembre, 09:00 / Monday 7 December, 09:00)."""
    return _babel_format_datetime(moment, "EEEE d MMMM, HH:mm", tzinfo=moment.tzinfo, locale=LOCALES[_supported(language)])


def _supported(language: str) -> str:
    """The supported language for a tag such as 'fr', 'fr-FR' or 'fr_BE'; English for anything else."""
    base = language.replace("-", "_").split("_")[0].lower()
    return base if base in LOCALES else FALLBACK_LANGUAGE


@cache
def _catalog(language: str) -> dict[str, str]:
    path = _CATALOG_DIR / f"{language}.yml"
    if not path.exists():
        return {}
    return _flatten(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested YAML sections become dotted keys: {'confirmation': {'title': ...}} -> 'confirmation.title'."""
    flat: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = str(value).strip()
    return flat
