"""SOQL text to a syntax tree: a tokenizer and a recursive-descent parser, no checks of names.

emulator.soql resolves names and types against the org and compiles the tree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

KEYWORDS = frozenset(
    {
        "select",
        "from",
        "where",
        "and",
        "or",
        "not",
        "in",
        "like",
        "order",
        "by",
        "asc",
        "desc",
        "nulls",
        "first",
        "last",
        "limit",
        "offset",
        "null",
        "true",
        "false",
        "count",
    }
)
_UNSUPPORTED = frozenset(
    {"group", "having", "typeof", "with", "for", "using", "includes", "excludes"}
)
_DATE_WORDS = frozenset({"today", "yesterday", "tomorrow"})
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>[+-]?\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)
_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "b": "\b",
    "f": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
    "%": "\\%",
    "_": "\\_",
}

Fail = Callable[["Token", str], Exception]


@dataclass(frozen=True)
class Token:
    """One token: its kind, its text (strings unescaped), its 0-based column."""

    kind: str
    text: str
    column: int

    def word(self) -> str:
        """The lower-cased text of a name (for keyword checks)."""
        return self.text.lower() if self.kind == "name" else ""


@dataclass(frozen=True)
class Value:
    """A literal: string, number, date, datetime, boolean or null."""

    kind: str
    text: str
    token: Token


@dataclass(frozen=True)
class Comparison:
    """field op value(s); op is one of = != < <= > >= like in, not in."""

    field: Token
    op: str
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Condition:
    """A WHERE tree node: and/or/not over children, or a comparison leaf ("cmp")."""

    op: str
    left: Condition | None = None
    right: Condition | None = None
    comparison: Comparison | None = None


@dataclass(frozen=True)
class OrderTerm:
    """One ORDER BY term as written."""

    field: Token
    descending: bool
    nulls_first: bool


@dataclass
class Ast:
    """A whole query as written."""

    sobject: Token
    fields: list[Token] = field(default_factory=list)
    is_count: bool = False
    where: Condition | None = None
    order: list[OrderTerm] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None


def tokenize(text: str, fail: Fail) -> list[Token]:
    """Every token of `text`, ending with an <EOF> token."""
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise fail(Token("bad", text[pos], pos), f"unexpected token: {text[pos]}")
        kind = match.lastgroup or ""
        if kind != "space":
            raw = match.group()
            tokens.append(Token(kind, _unquote(raw) if kind == "string" else raw, pos))
        pos = match.end()
    tokens.append(Token("eof", "<EOF>", len(text)))
    return tokens


def _unquote(raw: str) -> str:
    body, out, i = raw[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            # \% and \_ stay escaped: they matter to LIKE, and equal themselves elsewhere.
            out.append(_ESCAPES.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


class Parser:
    """Recursive descent over the tokens; `fail` builds the error for a token."""

    def __init__(self, tokens: list[Token], fail: Fail) -> None:
        self.tokens = tokens
        self.pos = 0
        self.fail = fail

    def query(self) -> Ast:
        """SELECT … FROM … [WHERE …] [ORDER BY …] [LIMIT n] [OFFSET n]."""
        self.expect("select")
        fields, is_count = self.select_list()
        self.expect("from")
        ast = Ast(sobject=self.name(), fields=fields, is_count=is_count)
        if "." in ast.sobject.text:
            raise self.fail(ast.sobject, f"unexpected token: {ast.sobject.text}")
        if self.accept("where"):
            ast.where = self.disjunction()
        if self.accept("order"):
            self.expect("by")
            ast.order = self.order_list()
        if self.accept("limit"):
            ast.limit = self.integer()
        if self.accept("offset"):
            ast.offset = self.integer()
        self.unexpected_unless("eof")
        return ast

    def select_list(self) -> tuple[list[Token], bool]:
        if self.peek().word() == "count" and self.tokens[self.pos + 1].text == "(":
            self.pos += 1
            self.expect_text("(")
            self.expect_text(")")
            return [], True
        fields = [self.name()]
        while self.accept_text(","):
            fields.append(self.name())
        return fields, False

    def order_list(self) -> list[OrderTerm]:
        terms = []
        while True:
            name = self.name()
            descending = self.accept("desc")
            if not descending:
                self.accept("asc")
            nulls_first = not descending
            if self.accept("nulls"):
                nulls_first = self.accept("first")
                if not nulls_first:
                    self.expect("last")
            terms.append(OrderTerm(name, descending, nulls_first))
            if not self.accept_text(","):
                return terms

    def disjunction(self) -> Condition:
        node = self.conjunction()
        while self.accept("or"):
            node = Condition("or", node, self.conjunction())
        return node

    def conjunction(self) -> Condition:
        node = self.negation()
        while self.accept("and"):
            node = Condition("and", node, self.negation())
        return node

    def negation(self) -> Condition:
        if self.accept("not"):
            return Condition("not", self.negation())
        if self.accept_text("("):
            node = self.disjunction()
            self.expect_text(")")
            return node
        return Condition("cmp", comparison=self.comparison())

    def comparison(self) -> Comparison:
        name = self.name()
        token = self.peek()
        if token.kind == "op":
            self.pos += 1
            op = "!=" if token.text == "<>" else token.text
            return Comparison(name, op, (self.value(),))
        if self.accept("like"):
            return Comparison(name, "like", (self.value(),))
        negated = self.accept("not")
        if self.accept("in"):
            self.expect_text("(")
            values = [self.value()]
            while self.accept_text(","):
                values.append(self.value())
            self.expect_text(")")
            return Comparison(name, "not in" if negated else "in", tuple(values))
        raise self.fail(self.peek(), f"unexpected token: {self.peek().text}")

    def value(self) -> Value:
        token = self.peek()
        self.pos += 1
        word = token.word()
        if token.kind in {"string", "number", "date", "datetime"}:
            return Value(token.kind, token.text, token)
        if word == "null":
            return Value("null", "null", token)
        if word in {"true", "false"}:
            return Value("boolean", word, token)
        if word in _DATE_WORDS:
            return Value("date", word, token)
        raise self.fail(token, f"unexpected token: {token.text}")

    def name(self) -> Token:
        token = self.peek()
        if token.kind != "name" or token.word() in KEYWORDS:
            raise self.fail(token, f"unexpected token: {token.text}")
        self.pos += 1
        return token

    def integer(self) -> int:
        token = self.peek()
        if token.kind != "number" or not token.text.isdigit():
            raise self.fail(token, f"unexpected token: {token.text}")
        self.pos += 1
        return int(token.text)

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def accept(self, word: str) -> bool:
        if self.peek().word() == word:
            self.pos += 1
            return True
        return False

    def accept_text(self, text: str) -> bool:
        if self.peek().kind == "punct" and self.peek().text == text:
            self.pos += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.accept(word):
            self.unexpected_unless(word)

    def expect_text(self, text: str) -> None:
        if not self.accept_text(text):
            raise self.fail(self.peek(), f"unexpected token: {self.peek().text}")

    def unexpected_unless(self, kind: str) -> None:
        token = self.peek()
        if token.kind == kind:
            return
        if token.word() in _UNSUPPORTED:
            raise self.fail(token, f"{token.text.upper()} is not supported by this emulator")
        raise self.fail(token, f"unexpected token: {token.text}")
