"""The SOQL a sink and a data engineer need: parsed once, run over rows as Python values.

Supported: SELECT fields or COUNT(), FROM one object, WHERE with = != <> < <= > >=,
IN / NOT IN, LIKE, AND / OR / NOT and parentheses, null, true/false, strings, numbers,
date and datetime literals (and TODAY, YESTERDAY, TOMORROW); ORDER BY fields with
ASC/DESC and NULLS FIRST/LAST; LIMIT; OFFSET. Anything else (relationship paths,
subqueries, GROUP BY, aggregates but COUNT()) is refused with MALFORMED_QUERY rather than
misread.

Salesforce's semantics kept: keywords and names are case-insensitive; text comparisons
ignore case; a null field equals null and is "not equal" to any value (SOQL, unlike SQL,
returns nulls for != and NOT IN); ascending order puts nulls first, descending last.
Error bodies follow Salesforce: the query echoed, a caret under the offending token,
"ERROR at Row:1:Column:N", then the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from emulator.soql_parse import Comparison, Condition, Parser, Token, Value, tokenize

Record = Mapping[str, object]
Predicate = Callable[[Record], bool]

TEXT_TYPES = frozenset(
    {"id", "string", "textarea", "email", "phone", "url", "picklist", "reference"}
)
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})
_TYPE_WORDS = {
    "int": "integer",
    "double": "double",
    "currency": "double",
    "percent": "double",
    "boolean": "boolean",
    "date": "date",
    "datetime": "dateTime",
}


class SoqlError(Exception):
    """A query Salesforce would refuse: its errorCode and message, word for word."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


@dataclass(frozen=True)
class Order:
    """One ORDER BY term."""

    field: str
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class Query:
    """A parsed, checked query, ready to run over records of its object."""

    sobject: str
    fields: tuple[str, ...]
    is_count: bool
    limit: int | None
    offset: int | None
    where: Predicate | None = None
    order: tuple[Order, ...] = ()
    # A field every matching record holds one of these text values in (from a top-level
    # `=` or IN, alone or ANDed): the store may fetch only those records by its index,
    # `where` still deciding. Salesforce answers such lookups from its index too.
    narrow: tuple[str, tuple[str, ...]] | None = None

    def run(self, records: Iterable[Record]) -> Iterator[dict[str, object]]:
        """Matching records, ordered, offset and limited, projected to `fields`."""
        found: Iterable[Record] = (
            records if self.where is None else (r for r in records if self.where(r))
        )
        if self.order:
            found = sorted(found, key=self._sort_key)
        skip, left = self.offset or 0, self.limit
        if left == 0:
            return
        for record in found:
            if skip:
                skip -= 1
                continue
            yield {name: record.get(name) for name in self.fields}
            if left is not None:
                left -= 1
                if left == 0:
                    return  # stop before reading another record from the store

    def count(self, records: Iterable[Record]) -> int:
        """How many records match (LIMIT and OFFSET applied, as Salesforce counts)."""
        total = sum(1 for r in records if self.where is None or self.where(r))
        total = max(total - (self.offset or 0), 0)
        return total if self.limit is None else min(total, self.limit)

    def _sort_key(self, record: Record) -> tuple[object, ...]:
        key: list[object] = []
        for term in self.order:
            value = _comparable(record.get(term.field))
            missing = value is None
            # Nulls sort by their own flag, so every non-null value compares only with its kind.
            null_rank = (
                (0 if term.nulls_first else 1) if missing else (1 if term.nulls_first else 0)
            )
            key.append(null_rank)
            key.append(_Reversed(value) if term.descending and not missing else value or 0)
        return tuple(key)


class _Reversed:
    """Inverts the order of a value inside a sort key (DESC on one term of several)."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __lt__(self, other: _Reversed) -> bool:
        return bool(other.value < self.value)  # type: ignore[operator]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.value == other.value

    __hash__ = None  # type: ignore[assignment]


def parse(text: str, fields_of: Callable[[str], Mapping[str, str] | None]) -> Query:
    """Parse and check `text` against the org's objects.

    Raises:
        SoqlError: MALFORMED_QUERY, INVALID_TYPE or INVALID_FIELD, worded as Salesforce does.
    """
    tokens = tokenize(text, lambda token, why: _malformed(text, token, why))
    ast = Parser(tokens, lambda token, why: _malformed(text, token, why)).query()
    fields = fields_of(ast.sobject.text)
    if fields is None:
        raise SoqlError(
            "INVALID_TYPE",
            _located(
                text,
                ast.sobject,
                f"sObject type '{ast.sobject.text}' is not supported. "
                "If you are attempting to use a custom object, be sure to append the '__c' "
                "after the entity name. Please reference your WSDL or the describe call for "
                "the appropriate names.",
            ),
        )
    names = {name.lower(): name for name in fields}
    sobject = _canonical_object(ast.sobject.text, fields_of)

    def resolve(token: Token) -> str:
        if "." in token.text:
            raise _malformed(text, token, f"relationship paths are not supported: {token.text}")
        name = names.get(token.text.lower())
        if name is None:
            raise SoqlError(
                "INVALID_FIELD",
                _located(
                    text,
                    token,
                    f"No such column '{token.text}' on entity '{sobject}'. If you are "
                    "attempting to use a custom field, be sure to append the '__c' after "
                    "the custom field name. Please reference your WSDL or the describe call "
                    "for the appropriate names.",
                ),
            )
        return name

    compiler = _Compiler(text, resolve, fields)
    return Query(
        sobject=sobject,
        fields=tuple(resolve(token) for token in ast.fields),
        is_count=ast.is_count,
        limit=ast.limit,
        offset=ast.offset,
        where=None if ast.where is None else compiler.compile(ast.where),
        order=tuple(Order(resolve(t.field), t.descending, t.nulls_first) for t in ast.order),
        narrow=None if ast.where is None else _narrowing(ast.where, resolve),
    )


Narrowing = tuple[str, tuple[str, ...]]


def _narrowing(node: Condition, resolve: Callable[[Token], str]) -> Narrowing | None:
    """The field and text values a top-level `=` or IN (or one side of an AND) requires."""
    if node.op == "and" and node.left is not None and node.right is not None:
        return _narrowing(node.left, resolve) or _narrowing(node.right, resolve)
    cmp = node.comparison
    if node.op in {"and", "or", "not"} or cmp is None or cmp.op not in {"=", "in"}:
        return None
    values = tuple(v.text for v in cmp.values if v.kind == "string")
    if len(values) != len(cmp.values):
        return None
    return resolve(cmp.field), values


def _canonical_object(name: str, fields_of: Callable[[str], Mapping[str, str] | None]) -> str:
    """The object's own spelling: the emulator's schema resolves names case-insensitively."""
    canonical = getattr(fields_of, "__self__", None)
    objects = getattr(canonical, "objects", None)
    if isinstance(objects, Mapping):
        for known in objects:
            if str(known).lower() == name.lower():
                return str(known)
    return name


class _Compiler:
    """Turns a WHERE tree into one closure, checking each literal against its field's type."""

    def __init__(
        self, text: str, resolve: Callable[[Token], str], types: Mapping[str, str]
    ) -> None:
        self.text = text
        self.resolve = resolve
        self.types = types

    def compile(self, node: Condition) -> Predicate:
        """One closure for the whole tree, so each record costs a few calls."""
        if node.op == "and":
            left, right = self._children(node)
            return lambda r: left(r) and right(r)
        if node.op == "or":
            left, right = self._children(node)
            return lambda r: left(r) or right(r)
        if node.op == "not" and node.left is not None:
            inner = self.compile(node.left)
            return lambda r: not inner(r)
        if node.comparison is None:
            raise ValueError(f"malformed WHERE tree: {node.op}")
        return self._comparison(node.comparison)

    def _children(self, node: Condition) -> tuple[Predicate, Predicate]:
        if node.left is None or node.right is None:
            raise ValueError(f"malformed WHERE tree: {node.op}")
        return self.compile(node.left), self.compile(node.right)

    def _comparison(self, cmp: Comparison) -> Predicate:
        name = self.resolve(cmp.field)
        kind = self.types[name]
        values = [self._literal(name, kind, value) for value in cmp.values]
        op = cmp.op
        if op == "like":
            if kind not in TEXT_TYPES or not isinstance(values[0], str):
                raise SoqlError(
                    "INVALID_FIELD",
                    _located(
                        self.text,
                        cmp.field,
                        f"invalid operator on {_TYPE_WORDS.get(kind, kind)} "
                        f"field: {cmp.field.text}",
                    ),
                )
            pattern = _like(values[0])
            return lambda r: isinstance(v := r.get(name), str) and bool(pattern.fullmatch(v))
        if op in {"in", "not in"}:
            wanted = {_comparable(v) for v in values}
            if op == "in":
                return lambda r: _comparable(r.get(name)) in wanted
            return lambda r: _comparable(r.get(name)) not in wanted
        value = _comparable(values[0])
        test = _OPERATORS[op]
        if value is None and op not in {"=", "!="}:
            return lambda _r: False
        return lambda r: test(_comparable(r.get(name)), value)

    def _literal(self, name: str, kind: str, value: Value) -> object:  # noqa: C901 - one rule per type
        if value.kind == "null":
            return None
        wrong = SoqlError(
            "INVALID_FIELD",
            _located(
                self.text,
                value.token,
                f"value of filter criterion for field '{name}' must be of type "
                f"{_TYPE_WORDS.get(kind, 'string')} and should "
                f"{'' if kind in TEXT_TYPES else 'not '}be enclosed in quotes",
            ),
        )
        if kind in TEXT_TYPES:
            if value.kind != "string":
                raise wrong
            return value.text
        if kind == "boolean":
            if value.kind != "boolean":
                raise wrong
            return value.text.lower() == "true"
        if kind in NUMBER_TYPES:
            if value.kind != "number":
                raise wrong
            try:
                return Decimal(value.text)
            except InvalidOperation:
                raise wrong from None
        if kind == "date" and value.kind == "date":
            return _date_literal(value.text)
        if kind == "datetime" and value.kind == "datetime":
            return datetime.fromisoformat(value.text).astimezone(UTC)
        raise wrong


def _date_literal(text: str) -> date:
    relative = {"today": 0, "yesterday": -1, "tomorrow": 1}.get(text.lower())
    if relative is not None:
        return datetime.now(UTC).date() + timedelta(days=relative)
    return date.fromisoformat(text)


def _comparable(value: object) -> object:
    """Values as SOQL compares them: text without case, numbers exactly."""
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    return value


def _eq(a: object, b: object) -> bool:
    return a == b


def _ne(a: object, b: object) -> bool:
    return a != b


def _ordered(test: Callable[[object, object], bool]) -> Callable[[object, object], bool]:
    def compare(a: object, b: object) -> bool:
        if a is None or b is None:
            return False
        try:
            return test(a, b)
        except TypeError:
            return False

    return compare


_OPERATORS: dict[str, Callable[[object, object], bool]] = {
    "=": _eq,
    "!=": _ne,
    "<": _ordered(lambda a, b: a < b),  # type: ignore[operator]
    "<=": _ordered(lambda a, b: a <= b),  # type: ignore[operator]
    ">": _ordered(lambda a, b: a > b),  # type: ignore[operator]
    ">=": _ordered(lambda a, b: a >= b),  # type: ignore[operator]
}


def _like(pattern: str) -> re.Pattern[str]:
    """SOQL LIKE: % any run, _ one character, backslash escapes; case-insensitive."""
    out, escaped = [], False
    for char in pattern:
        if escaped:
            out.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _located(text: str, token: Token, reason: str) -> str:
    """Salesforce's error layout: the query, a caret under the token, where, then why."""
    line = text.replace("\n", " ")
    caret = " " * token.column + "^"
    return f"\n{line}\n{caret}\nERROR at Row:1:Column:{token.column + 1}\n{reason}"


def _malformed(text: str, token: Token, why: str) -> SoqlError:
    return SoqlError("MALFORMED_QUERY", _located(text, token, why))
