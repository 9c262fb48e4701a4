"""Normal forms of what customers are matched on: e-mails, phones (E.164), handles, names.

No database and no Django models here, so the linking evidence and the validation of a form,
an API body or a CSV row agree on what "the same e-mail" or "the same phone" means.

Accent folding is done in Python (unicodedata): the embedded PostgreSQL has neither the
``unaccent`` nor the ``pg_trgm`` extension, and rapidfuzz is not installed, so the name
similarity is difflib's ratio over folded tokens (see ``token_set_ratio``).
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

# A national number starting with 0 is read as French: the tenants are French brands first.
# Any other country must be written with its + or 00 prefix.
DEFAULT_COUNTRY_CODE = "33"

_PHONE_JUNK = re.compile(r"[\s().\-/]")
_NON_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lower-case, accents removed, anything but letters and digits turned into single spaces:
    "Zoë  D'Arcy-Lefèvre" -> "zoe d arcy lefevre"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return _NON_WORD.sub(" ", bare).strip()


def token_set_ratio(a: str, b: str) -> float:
    """0..1 similarity of two names whatever the word order and extra words ("Dupont Jean" vs
    "jean dupont"; "Jean Dupont" vs "Jean-Pierre Dupont" stays high). The token-set ratio of
    fuzzywuzzy/rapidfuzz, with difflib's SequenceMatcher as the ratio; but with fewer than two
    shared words it is the ratio of the sorted words, so a lone "Jean" is not every Jean."""
    ta, tb = set(fold(a).split()), set(fold(b).split())
    if not ta or not tb:
        return 0.0
    if len(ta & tb) < 2:
        return SequenceMatcher(None, " ".join(sorted(ta)), " ".join(sorted(tb))).ratio()
    common = " ".join(sorted(ta & tb))
    left = " ".join(filter(None, [common, " ".join(sorted(ta - tb))]))
    right = " ".join(filter(None, [common, " ".join(sorted(tb - ta))]))

    def ratio(x: str, y: str) -> float:
        return SequenceMatcher(None, x, y).ratio() if x and y else 0.0

    return max(ratio(common, left), ratio(common, right), ratio(left, right))


def clean_email(value: str) -> str:
    """The e-mail lower-cased, or ValidationError."""
    email = (value or "").strip().lower()
    validate_email(email)
    return email


def clean_phone(value: str) -> str:
    """The phone in E.164 (+ and 8 to 15 digits), or ValidationError. "06 12 34 56 78" ->
    "+33612345678"; "0044 20 7946 0958" -> "+442079460958"."""
    raw = _PHONE_JUNK.sub("", (value or "").strip())
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    elif raw.startswith("0") and len(raw) == 10 and raw.isdigit():
        raw = "+" + DEFAULT_COUNTRY_CODE + raw[1:]
    digits = raw[1:]
    if not raw.startswith("+") or not digits.isdigit() or not 8 <= len(digits) <= 15 or digits.startswith("0"):
        raise ValidationError(_("Not a phone number: write it with its country code, e.g. +33 6 12 34 56 78."))
    return raw


def clean_handle(value: str) -> str:
    """A handle "@Name" -> "name"; a profile URL is kept as it is, without a trailing slash."""
    value = (value or "").strip()
    if value.lower().startswith(("http://", "https://")):
        return value.rstrip("/")
    return value.lstrip("@").lower()


def clean_list(values, cleaner, field: str) -> list[str]:
    """Each value cleaned, blanks and repeats dropped (order kept); one ValidationError on
    ``field`` listing every bad value."""
    cleaned, errors = [], []
    for value in values or []:
        if not (value or "").strip():
            continue
        try:
            item = cleaner(value)
        except ValidationError as exc:
            errors.append(_("%(value)s: %(error)s") % {"value": value, "error": exc.messages[0]})
            continue
        if item not in cleaned:
            cleaned.append(item)
    if errors:
        raise ValidationError({field: errors})
    return cleaned


EMAIL_IN_TEXT = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
PHONE_IN_TEXT = re.compile(r"(?:\+|00)?\d[\d\s.\-()]{7,18}\d")


def emails_in(text: str) -> set[str]:
    found = set()
    for match in EMAIL_IN_TEXT.findall(text or ""):
        try:
            found.add(clean_email(match.rstrip(".")))
        except ValidationError:
            pass
    return found


def phones_in(text: str) -> set[str]:
    found = set()
    for match in PHONE_IN_TEXT.findall(text or ""):
        try:
            found.add(clean_phone(match))
        except ValidationError:
            pass
    return found
