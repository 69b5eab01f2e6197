"""Salesforce record ids: 15-character case-sensitive ids and their 18-character form.

The three-character suffix encodes which of the first fifteen characters are upper case,
five characters per suffix letter, so an 18-character id survives case-insensitive
systems. Salesforce accepts either length on input and always answers with eighteen.
"""

from __future__ import annotations

import re
import string

_SUFFIX_ALPHABET = string.ascii_uppercase + "012345"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_ID_SHAPE = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
# The two characters after the key prefix name the pod in a real org; ours is fixed.
_POD = "5g"


def checksum(id15: str) -> str:
    """The three-letter case-safe suffix of a 15-character id."""
    suffix = []
    for start in (0, 5, 10):
        bits = 0
        for position, char in enumerate(id15[start : start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix.append(_SUFFIX_ALPHABET[bits])
    return "".join(suffix)


def make_id(key_prefix: str, number: int) -> str:
    """The 18-character id of the `number`-th record with this key prefix."""
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(_BASE62[rest])
    body = "".join(reversed(digits)).rjust(10, "0")
    id15 = f"{key_prefix}{_POD}{body}"
    return id15 + checksum(id15)


def normalize(value: str) -> str | None:
    """The canonical 18-character form of an id, or None if it is not a well-formed id.

    An 18-character id whose suffix disagrees with its body is malformed, as in Salesforce;
    the suffix itself is compared case-insensitively because that is its whole purpose.
    """
    if not _ID_SHAPE.fullmatch(value):
        return None
    id15 = value[:15]
    suffix = checksum(id15)
    if len(value) == 18 and value[15:].upper() != suffix:  # noqa: PLR2004 - the long id form
        return None
    return id15 + suffix


def short(id18: str) -> str:
    """The 15-character form, as some Salesforce messages print it."""
    return id18[:15]
