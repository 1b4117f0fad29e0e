"""The filter language of the local engine: AX's "SQL-like" ``filter`` / ``query_filter`` compiled to SQLite.

A filter is lexed, parsed by recursive descent into a small AST, and compiled against a per-table column
resolver (``filter_columns``). It is never pasted into SQL: every value and JSON path is a bound ``?``
parameter, and column SQL comes only from code. Any error is a ``FilterError`` (400) whose position points at
the offending token.

Grammar (keywords are case-insensitive; column names are case-sensitive)::

    filter     = or_expr EOF
    or_expr    = and_expr { OR and_expr }
    and_expr   = not_expr { AND not_expr }
    not_expr   = NOT not_expr | "(" or_expr ")" | predicate
    predicate  = column ( compare_op value
                        | [NOT] IN "(" value { "," value } ")"
                        | [NOT] LIKE string [ESCAPE string]
                        | [NOT] BETWEEN value AND value
                        | IS [NOT] NULL )
    compare_op = "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    column     = segment { "." segment }       (no spaces around the dots)
    segment    = word | '"' chars '"' | "`" chars "`"
    word       = (letter | "_" | digit) { letter | digit | "_" | "-" }   (the first segment starts with no digit)
    value      = string | '"' chars '"' | number | TRUE | FALSE
    string     = "'" { char | "''" } "'"
    number     = ["+" | "-"] digits ["." digits] [("e" | "E") ["+" | "-"] digits]

A double-quoted token names a column on the left of an operator and is a string on the right. A keyword used
as a one-part column name (``in``, ``is``, ``and``…) must be quoted. ``NULL`` appears only in ``IS [NOT] NULL``.

How literals compare with each kind of column is described in ``filter_columns``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ...errors import FilterError, ProblemError
from ..store.span_index import (
    AttrPresent,
    AttrText,
    AttrValues,
    Candidates,
    EvalLabel,
    EvalScore,
    Latency,
    Lookup,
    RowSet,
)
from .columns import (
    Fragment,
    Literal,
    Resolver,
    Segment,
    compare_sql,
    example_column,
    in_list_sql,
    like_sql,
    number_in_text,
    run_column,
    span_column,
    sql_number,
)

__all__ = [
    "SpanSearch",
    "compile_filter",
    "compile_span_filter",
    "compile_span_search",
    "example_filter_sql",
    "run_filter_sql",
    "span_candidates",
    "span_filter_sql",
]

_MAX_LENGTH = 20_000
_MAX_DEPTH = 64
_MAX_CONDITIONS = 500
_MAX_IN_VALUES = 1000
_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "LIKE", "ESCAPE", "BETWEEN", "IS", "NULL", "TRUE", "FALSE"})
_OPERATORS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


# --- lexer -------------------------------------------------------------------------------------------------------


class Tok(Enum):
    """Token kinds."""

    PATH = "path"
    QUOTED = "quoted"
    STRING = "string"
    NUMBER = "number"
    KEYWORD = "keyword"
    OP = "operator"
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    EOF = "end"


@dataclass(frozen=True)
class Token:
    """A token: its kind, source text, offsets, and value (segments, string, number, keyword or operator)."""

    kind: Tok
    source: str
    position: int
    end: int
    value: Any = None

    def describe(self) -> str:
        """How error messages name this token."""
        shown = self.source if len(self.source) <= 40 else self.source[:37] + "..."
        if self.kind is Tok.EOF:
            return "the end of the filter"
        if self.kind is Tok.KEYWORD:
            return f"the keyword {self.value}"
        if self.kind in (Tok.PATH, Tok.QUOTED):
            return f"the name {shown}"
        if self.kind is Tok.STRING:
            return f"the string {shown}"
        if self.kind is Tok.NUMBER:
            return f"the number {shown}"
        return f"'{shown}'"


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char in "_-"


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def fail(self, message: str, position: int) -> FilterError:
        return FilterError(message, text=self.text, position=position)

    def next_token(self) -> Token:
        """The next token; lexing on demand, so an error early in the filter is reported before a later one."""
        text = self.text
        end = self.i
        while self.i < len(text) and text[self.i].isspace():
            self.i += 1
        if self.i >= len(text):
            return Token(Tok.EOF, "", end, end)
        return self.token()

    def token(self) -> Token:
        text, start = self.text, self.i
        char = text[start]
        after = text[start + 1 : start + 2]
        if char in "(),":
            self.i += 1
            return Token(Tok(char), char, start, self.i)
        if char in "=!<>":
            for op in (text[start : start + 2], char):
                if op in _OPERATORS:
                    self.i += len(op)
                    return Token(Tok.OP, op, start, self.i, _OPERATORS[op])
            raise self.fail("unexpected '!'; did you mean '!='?", start)
        if char == "'":
            value = self.quoted(start, "'", "unterminated string: close it with ' (write '' for a quote inside it)")
            return Token(Tok.STRING, text[start : self.i], start, self.i, value)
        signed = char in "+-" and (after.isdigit() or (after == "." and text[start + 2 : start + 3].isdigit()))
        if char.isdigit() or (char == "." and after.isdigit()) or signed:
            return self.number(start)
        if char == '"':
            value = self.quoted(start, '"', 'unterminated quoted name or string: close it with "')
            if text[self.i : self.i + 1] != ".":
                return Token(Tok.QUOTED, text[start : self.i], start, self.i, value)
            self.i = start
            return self.path(start)
        if char == "`" or char.isalpha() or char == "_":
            return self.path(start)
        if char == "-" and after == "-":
            raise self.fail("unexpected '--': comments are not part of the filter language", start)
        if char == ";":
            raise self.fail("unexpected ';': a filter is one condition, not SQL statements", start)
        raise self.fail(f"unexpected character {char!r}", start)

    def quoted(self, start: int, quote: str, unterminated: str) -> str:
        text = self.text
        parts: list[str] = []
        i = start + 1
        while True:
            close = text.find(quote, i)
            if close < 0:
                raise self.fail(unterminated, start)
            parts.append(text[i:close])
            if text[close + 1 : close + 2] == quote:
                parts.append(quote)
                i = close + 2
                continue
            self.i = close + 1
            return "".join(parts)

    def number(self, start: int) -> Token:
        match = _NUMBER.match(self.text, start)
        if match is None:
            raise self.fail("malformed number", start)
        self.i = match.end()
        following = self.text[self.i : self.i + 1]
        if following and (_is_word_char(following) or following in ".\"'`"):
            raise self.fail(f"unexpected {following!r} right after the number {match.group()}", self.i)
        source = match.group()
        value: int | float
        if re.fullmatch(r"[+-]?\d+", source):
            value = sql_number(int(source))
        else:
            value = float(source)
            if not math.isfinite(value):
                raise self.fail(f"the number {source} is out of range", start)
        return Token(Tok.NUMBER, source, start, self.i, value)

    def path(self, start: int) -> Token:
        text = self.text
        segments: list[Segment] = []
        while True:
            seg_start = self.i
            char = text[seg_start : seg_start + 1]
            if char in ('"', "`"):
                name = self.quoted(seg_start, char, f"unterminated quoted name: close it with {char}")
                if not name:
                    raise self.fail("a quoted name may not be empty", seg_start)
                segments.append(Segment(name, seg_start, self.i, quoted=True))
            elif char and _is_word_char(char) and char != "-":
                while self.i < len(text) and _is_word_char(text[self.i]):
                    self.i += 1
                segments.append(Segment(text[seg_start : self.i], seg_start, self.i))
            else:
                raise self.fail("expected a name after '.'", seg_start)
            if text[self.i : self.i + 1] != ".":
                break
            self.i += 1
        source = text[start : self.i]
        if len(segments) == 1 and not segments[0].quoted and segments[0].name.upper() in _KEYWORDS:
            return Token(Tok.KEYWORD, source, start, self.i, segments[0].name.upper())
        return Token(Tok.PATH, source, start, self.i, tuple(segments))


# --- AST ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnRef:
    """A column path as written."""

    segments: tuple[Segment, ...]
    position: int


@dataclass(frozen=True)
class Compare:
    """``column op value`` (``op`` normalised: ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``)."""

    column: ColumnRef
    op: str
    value: Literal


@dataclass(frozen=True)
class InList:
    """``column [NOT] IN (values)``."""

    column: ColumnRef
    values: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class Like:
    """``column [NOT] LIKE pattern [ESCAPE char]``."""

    column: ColumnRef
    pattern: Literal
    escape: Literal | None
    negated: bool


@dataclass(frozen=True)
class Between:
    """``column [NOT] BETWEEN low AND high`` (both bounds inclusive)."""

    column: ColumnRef
    low: Literal
    high: Literal
    negated: bool


@dataclass(frozen=True)
class IsNull:
    """``column IS [NOT] NULL``."""

    column: ColumnRef
    negated: bool


@dataclass(frozen=True)
class Not:
    """``NOT operand``."""

    operand: Node


@dataclass(frozen=True)
class BoolOp:
    """``AND`` or ``OR`` of two or more operands."""

    op: str
    operands: tuple[Node, ...]


Node = Compare | InList | Like | Between | IsNull | Not | BoolOp


# --- parser ------------------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.lexer = _Lexer(text)
        self.current = self.lexer.next_token()
        self.conditions = 0

    def fail(self, message: str, position: int) -> FilterError:
        return FilterError(message, text=self.text, position=position)

    def peek(self) -> Token:
        return self.current

    def advance(self) -> Token:
        token = self.current
        if token.kind is not Tok.EOF:
            self.current = self.lexer.next_token()
        return token

    def keyword(self, *names: str) -> Token | None:
        token = self.peek()
        if token.kind is Tok.KEYWORD and token.value in names:
            return self.advance()
        return None

    def parse(self) -> Node:
        node = self.or_expr(0)
        token = self.peek()
        if token.kind is Tok.RPAREN:
            raise self.fail("unmatched ')': there is no '(' for it to close", token.position)
        if token.kind is not Tok.EOF:
            raise self.fail(
                f"expected AND, OR or the end of the filter after a condition, got {token.describe()}", token.position
            )
        return node

    def or_expr(self, depth: int) -> Node:
        operands = [self.and_expr(depth)]
        while self.keyword("OR"):
            operands.append(self.and_expr(depth))
        return operands[0] if len(operands) == 1 else BoolOp("OR", tuple(operands))

    def and_expr(self, depth: int) -> Node:
        operands = [self.not_expr(depth)]
        while self.keyword("AND"):
            operands.append(self.not_expr(depth))
        return operands[0] if len(operands) == 1 else BoolOp("AND", tuple(operands))

    def not_expr(self, depth: int) -> Node:
        token = self.peek()
        if depth >= _MAX_DEPTH:
            raise self.fail(f"the filter nests NOT and parentheses more than {_MAX_DEPTH} deep", token.position)
        if self.keyword("NOT"):
            return Not(self.not_expr(depth + 1))
        if token.kind is Tok.LPAREN:
            self.advance()
            node = self.or_expr(depth + 1)
            close = self.peek()
            if close.kind is Tok.RPAREN:
                self.advance()
                return node
            if close.kind is Tok.EOF:
                raise self.fail("this '(' is never closed: add ')'", token.position)
            raise self.fail(f"expected AND, OR or ')' after a condition, got {close.describe()}", close.position)
        return self.predicate()

    def column(self) -> ColumnRef:
        token = self.advance()
        if token.kind is Tok.PATH:
            return ColumnRef(token.value, token.position)
        if token.kind is Tok.QUOTED:
            if not token.value:
                raise self.fail("a quoted name may not be empty", token.position)
            return ColumnRef((Segment(token.value, token.position, token.end, quoted=True),), token.position)
        hint = ""
        if token.kind is Tok.STRING:
            hint = '; column names are not single-quoted (quote a name with spaces as "my name" or `my name`)'
        elif token.kind is Tok.KEYWORD and token.value not in ("AND", "OR", "NOT"):
            hint = f'; quote a column named {token.source} as "{token.source}"'
        elif token.kind is Tok.NUMBER:
            hint = "; a condition starts with a column name, e.g. latency_ms > 100"
        raise self.fail(f"expected a column name, got {token.describe()}{hint}", token.position)

    def predicate(self) -> Node:
        self.conditions += 1
        column = self.column()
        if self.conditions > _MAX_CONDITIONS:
            raise self.fail(f"a filter may hold at most {_MAX_CONDITIONS} conditions; use IN (...)", column.position)
        token = self.peek()
        if token.kind is Tok.OP:
            self.advance()
            return Compare(column, token.value, self.value(f"after '{token.source}'"))
        if self.keyword("IS"):
            negated = self.keyword("NOT") is not None
            if self.keyword("NULL") is None:
                got = self.peek()
                raise self.fail(f"expected NULL or NOT NULL after IS, got {got.describe()}", got.position)
            return IsNull(column, negated)
        negated = self.keyword("NOT") is not None
        if self.keyword("IN"):
            return self.in_list(column, negated)
        if self.keyword("LIKE"):
            return self.like(column, negated)
        if self.keyword("BETWEEN"):
            low = self.value("after BETWEEN")
            if self.keyword("AND") is None:
                got = self.peek()
                raise self.fail(f"expected AND between the two BETWEEN values, got {got.describe()}", got.position)
            return Between(column, low, self.value("after BETWEEN … AND"), negated)
        got = self.peek()
        if negated:
            raise self.fail(f"expected IN, LIKE or BETWEEN after NOT, got {got.describe()}", got.position)
        raise self.fail(
            "expected an operator (=, !=, <, <=, >, >=, IN, LIKE, BETWEEN or IS) after the column "
            f"{self.text[column.position : token.position].rstrip()}, got {got.describe()}",
            got.position,
        )

    def value(self, where: str) -> Literal:
        token = self.advance()
        if token.kind in (Tok.STRING, Tok.QUOTED, Tok.NUMBER):
            return Literal(token.value, token.source, token.position)
        if token.kind is Tok.KEYWORD and token.value in ("TRUE", "FALSE"):
            return Literal(token.value == "TRUE", token.source, token.position)
        if token.kind is Tok.KEYWORD and token.value == "NULL":
            raise self.fail("NULL is not a value to compare with; use IS NULL or IS NOT NULL", token.position)
        hint = ""
        if token.kind is Tok.PATH:
            hint = f"; quote text values with single quotes ('{token.source}'); comparing two columns is not supported"
        raise self.fail(f"expected a value {where}, got {token.describe()}{hint}", token.position)

    def in_list(self, column: ColumnRef, negated: bool) -> InList:
        opener = self.peek()
        if opener.kind is not Tok.LPAREN:
            raise self.fail(f"expected '(' and a list of values after IN, got {opener.describe()}", opener.position)
        self.advance()
        if self.peek().kind is Tok.RPAREN:
            raise self.fail("the IN list is empty; give at least one value", self.peek().position)
        values = [self.value("in the IN list")]
        while True:
            token = self.advance()
            if token.kind is Tok.RPAREN:
                return InList(column, tuple(values), negated)
            if token.kind is not Tok.COMMA:
                if token.kind is Tok.EOF:
                    raise self.fail("this IN list is never closed: add ')'", opener.position)
                raise self.fail(f"expected ',' or ')' in the IN list, got {token.describe()}", token.position)
            if len(values) >= _MAX_IN_VALUES:
                raise self.fail(f"an IN list may hold at most {_MAX_IN_VALUES} values", self.peek().position)
            values.append(self.value("after ','"))

    def like(self, column: ColumnRef, negated: bool) -> Like:
        pattern = self.value("after LIKE")
        if not isinstance(pattern.value, str):
            raise self.fail("LIKE needs a quoted pattern such as '%text%'", pattern.position)
        escape = None
        if self.keyword("ESCAPE"):
            escape = self.value("after ESCAPE")
            if not isinstance(escape.value, str) or len(escape.value) != 1:
                raise self.fail("ESCAPE needs a single quoted character such as '\\'", escape.position)
        return Like(column, pattern, escape, negated)


# --- compiler ----------------------------------------------------------------------------------------------------


class _Compiler:
    def __init__(self, text: str, resolver: Resolver) -> None:
        self.text = text
        self.resolver = resolver

    def node(self, node: Node) -> Fragment:
        if isinstance(node, BoolOp):
            return self.join(node.op, [self.node(operand) for operand in node.operands])
        if isinstance(node, Not):
            sql, params = self.node(node.operand)
            return f"(NOT {sql})", params
        column = self.resolver(node.column.segments, self.text)
        if isinstance(node, Compare):
            return compare_sql(column, node.op, node.value, self.text)
        if isinstance(node, InList):
            sql, params = in_list_sql(column, node.values, self.text)
            return (f"(NOT {sql})" if node.negated else sql), params
        if isinstance(node, Between):
            low_sql, low_params = compare_sql(column, ">=", node.low, self.text)
            high_sql, high_params = compare_sql(column, "<=", node.high, self.text)
            sql = f"({low_sql} AND {high_sql})"
            return (f"(NOT {sql})" if node.negated else sql), [*low_params, *high_params]
        if isinstance(node, Like):
            return like_sql(column, node.pattern, node.escape, node.negated, node.column.position, self.text)
        return f"({column.sql} IS {'NOT ' if node.negated else ''}NULL)", list(column.params)

    def join(self, op: str, parts: Sequence[Fragment]) -> Fragment:
        # Balanced, so SQLite's expression depth grows with log(conditions), not with their number.
        if len(parts) == 1:
            return parts[0]
        middle = len(parts) // 2
        left_sql, left_params = self.join(op, parts[:middle])
        right_sql, right_params = self.join(op, parts[middle:])
        return f"({left_sql} {op} {right_sql})", [*left_params, *right_params]


def _parse(text: str) -> Node:
    if not isinstance(text, str) or not text.strip():
        raise FilterError(
            "the filter is empty; write a condition such as status_code = 'ERROR', or leave the filter out",
            text=text if isinstance(text, str) else "",
            position=0,
        )
    if len(text) > _MAX_LENGTH:
        raise FilterError(f"the filter is longer than {_MAX_LENGTH} characters", text=text[:80], position=0)
    return _Parser(text).parse()


def _compile(text: str, resolver: Resolver) -> Fragment:
    return _Compiler(text, resolver).node(_parse(text))


# --- index lookups -----------------------------------------------------------------------------------------------
#
# Each lookup must hold every span the condition matches under the comparison rules of columns.py; it may hold
# more, since the compiled filter is checked on every span read. A condition that no index answers has none.


def _literal_values(literal: Literal) -> tuple[str | int | float, ...] | None:
    """What a JSON value equal to ``literal`` may be stored as: the text, and the number it spells."""
    value = literal.value
    if isinstance(value, bool) or isinstance(value, str) and "\x00" in value:
        # A NUL cannot go into a trigram query; such a condition is answered by the scan.
        return None
    if isinstance(value, str):
        number = number_in_text(value)
        return (value,) if number is None else (value, number)
    return (value,)


def _longest_run(pattern: str, escape: str | None) -> str:
    """The longest stretch of ``pattern`` without wildcards (escaped characters taken literally)."""
    runs: list[str] = []
    current: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if escape is not None and char == escape:
            current.append(next(chars, ""))
        elif char in "%_":
            runs.append("".join(current))
            current = []
        else:
            current.append(char)
    runs.append("".join(current))
    return max(runs, key=len)


def _attribute_lookup(node: Node, path: str) -> Lookup | None:
    if isinstance(node, Compare) and node.op == "=":
        values = _literal_values(node.value)
        return None if values is None else AttrValues(path, values)
    if isinstance(node, InList) and not node.negated:
        found: list[str | int | float] = []
        for literal in node.values:
            values = _literal_values(literal)
            if values is None:
                return None
            found.extend(values)
        return AttrValues(path, tuple(found))
    if isinstance(node, Like) and not node.negated and isinstance(node.pattern.value, str):
        escape = node.escape.value if node.escape is not None and isinstance(node.escape.value, str) else None
        run = _longest_run(node.pattern.value, escape)
        return AttrText(path, run) if len(run) >= 3 and "\x00" not in run else None
    if isinstance(node, IsNull) and node.negated:
        return AttrPresent(path)
    return None


def _eval_lookup(node: Node, name: str, field: str) -> Lookup | None:
    if field == "label":
        literals: tuple[Literal, ...] = ()
        if isinstance(node, Compare) and node.op == "=":
            literals = (node.value,)
        elif isinstance(node, InList) and not node.negated:
            literals = node.values
        # The label compares as text: a number literal as written, true / false as words (columns._static_value).
        labels = tuple(
            ("true" if lit.value else "false")
            if isinstance(lit.value, bool)
            else (lit.value if isinstance(lit.value, str) else lit.source)
            for lit in literals
        )
        return EvalLabel(name, labels) if labels else None
    if field == "score":
        bounds = _number_bounds(node)
        return EvalScore(name, bounds) if bounds else None
    return None


def _number_bounds(node: Node) -> tuple[tuple[str, int | float], ...]:
    """The bounds a comparison of a number column sets (none for ``!=``, ``NOT BETWEEN``…), as the column reads
    its literals (a string spelling a number is that number)."""
    bounds: list[tuple[str, Literal]] = []
    if isinstance(node, Compare) and node.op != "!=":
        bounds = [(node.op, node.value)]
    elif isinstance(node, Between) and not node.negated:
        bounds = [(">=", node.low), ("<=", node.high)]
    numbers: list[tuple[str, int | float]] = []
    for op, literal in bounds:
        value = literal.value
        number = number_in_text(value) if isinstance(value, str) else value
        if number is None or isinstance(number, bool):
            return ()
        numbers.append((op, number))
    return tuple(numbers)


def _lookup(node: Node) -> Lookup | None:
    if isinstance(node, BoolOp | Not):
        return None
    segments = node.column.segments
    head = segments[0].name
    if head in ("attributes", "metadata") and len(segments) > 1:
        keys = [segment.name for segment in segments[1:]]
        if head == "metadata":
            keys = ["metadata", *keys]
        # The filter reads these as a JSON path differently from the index's spelling of the key; scan instead.
        if any("\\" in key or (key.isascii() and key.isdigit() and str(int(key)) != key) for key in keys):
            return None
        return _attribute_lookup(node, ".".join(keys))
    if head == "eval" and len(segments) == 3:
        return _eval_lookup(node, segments[1].name, segments[2].name)
    if head == "latency_ms" and len(segments) == 1:
        bounds = _number_bounds(node)
        return Latency(bounds) if bounds else None
    return None


def _choices(node: Node) -> list[RowSet]:
    if isinstance(node, BoolOp) and node.op == "AND":
        return [choice for operand in node.operands for choice in _choices(operand)]
    if isinstance(node, BoolOp):
        parts = [_choices(operand) for operand in node.operands]
        if not all(parts):
            return []
        return [RowSet(tuple(lookup for part in parts for lookup in part[0].lookups))]
    lookup = _lookup(node)
    return [] if lookup is None else [RowSet((lookup,))]


def span_candidates(text: str) -> Candidates | None:
    """What the span search indexes can answer of a (valid) spans filter; ``None`` when nothing."""
    choices = _choices(_parse(text))
    return Candidates(tuple(choices)) if choices else None


def span_filter_sql(text: str) -> tuple[str, list[Any]]:
    """Compile a spans filter to a parameterised SQL boolean expression over `spans AS s`.

    Columns: ``span_kind`` (alias ``kind``), ``status_code``, ``status_message``, ``name``, ``parent_id``,
    ``latency_ms``, ``start_time``, ``end_time``, ``events``, ``context.trace_id``, ``context.span_id``,
    ``attributes.<key>``, ``metadata.<key>``, ``eval.<name>.label|score|explanation|metadata.<key>``,
    ``annotation.<name>.label|score|text|updated_by|updated_at`` and ``annotation.notes`` (the text of the
    annotation named ``notes``).

    Raises:
        FilterError: the filter is empty, does not parse, or names an unknown column.
    """
    return _compile(text, span_column)


def example_filter_sql(text: str) -> tuple[str, list[Any]]:
    """Compile a dataset example search filter to a parameterised SQL boolean expression over `dataset_examples AS e`.

    Columns: ``id``, ``created_at``, ``updated_at``, ``annotation.<name>.<field>``; any other name is a key of
    the example's fields (the whole dotted name as one key first).

    Raises:
        FilterError: the filter is empty or does not parse.
    """
    return _compile(text, example_column)


def run_filter_sql(text: str) -> tuple[str, list[Any]]:
    """Compile an experiment run search filter to a parameterised SQL boolean expression over `experiment_runs AS r`.

    Columns: ``id``, ``output``, ``example_id``, ``error``, ``eval.<name>.label|score|explanation|metadata.<key>``,
    ``annotation.<name>.<field>``; any other name is a key of the run's extra fields.

    Raises:
        FilterError: the filter is empty or does not parse.
    """
    return _compile(text, run_column)


def compile_filter(
    text: str | None, to_sql: Callable[[str], tuple[str, list[Any]]], *, every: str
) -> tuple[str, list[Any]] | None:
    """The SQL of a request's ``filter`` (``None`` when there is none), compiled by ``to_sql``.

    Raises:
        ProblemError: 400 for an empty or whitespace-only filter (``every`` names what omitting it returns).
        FilterError: 400 pointing at the token that does not parse.
    """
    if text is None:
        return None
    if not text.strip():
        raise ProblemError(400, f"filter must not be empty or only whitespace; omit it to return every {every}")
    return to_sql(text)


def compile_span_filter(text: str | None) -> tuple[str, list[Any]] | None:
    """The SQL of a spans ``filter`` (``None`` when there is none); see ``compile_filter``."""
    return compile_filter(text, span_filter_sql, every="span")


@dataclass(frozen=True)
class SpanSearch:
    """A compiled spans filter and what the search indexes know of it (see ``store.span_index``)."""

    where: tuple[str, list[Any]]
    candidates: Candidates | None


def compile_span_search(text: str | None) -> SpanSearch | None:
    """``compile_span_filter`` with the index lookups that narrow the spans it is checked on."""
    where = compile_span_filter(text)
    if where is None or text is None:
        return None
    return SpanSearch(where, span_candidates(text))
