"""The fast lexer (federation/serving/lexer.py) gives exactly graphql-core's result on any
text: the same tokens (kind, offsets, line, column, value) and the same syntax errors at the
same places. Its point is speed, measured in benchmarks/bench_attack.py, not here."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLSyntaxError, parse
from graphql.language import Token
from hypothesis import example, given
from hypothesis import strategies as st

from federation.serving.lexer import parse_document

#: the characters GraphQL's grammar cares about, blanks and line ends of each kind, and some
#: that it refuses or treats specially (a quote, surrogates, a byte order mark, non-ASCII)
PIECES = [
    "{", "}", "(", ")", "[", "]", ":", "$", "@", "!", "=", "|", "&", "...", "..", ".",
    '"', '"""', '\\"""', "\\", "\\u", "\\u{1F600}", "\\u00e9", "\\n", "\\q", "'",
    " ", "\t", ",", "\n", "\r", "\r\n", "\ufeff", "#", "# a comment",
    "query", "assets", "id", "_x9", "on", "fragment", "0", "-1.5e3", "12", "1.", "0x1",
    "é", "😀", "\ud83d", "\ude00", "\x00", "\x7f", "ÿ",
]  # fmt: skip

texts = st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=40).map("".join)

LINE_ENDS = ["\n", "\r", "\r\n"]
#: what may sit between two tokens: blanks, commas, line ends of each kind, comments
ignored = st.lists(
    st.sampled_from([" ", "\t", ",", "\ufeff", *LINE_ENDS])
    | st.builds(
        lambda text, end: "#" + text + end,
        st.text(alphabet=st.characters(exclude_characters="\r\n"), max_size=12),
        st.sampled_from(LINE_ENDS),
    ),
    min_size=1,
    max_size=6,
).map("".join)
#: string literals: plain text, escapes (valid and not), quotes
strings = st.lists(
    st.sampled_from(["\\n", "\\u00e9", "\\u{1F600}", '\\"', "\\\\", "\\/", "é", "😀", "#"])
    | st.text(alphabet=st.characters(exclude_characters='"\\\r\n'), max_size=6),
    max_size=8,
).map(lambda parts: '"' + "".join(parts) + '"')
#: block strings: line ends of each kind, indentation, escaped and stray quotes
block_strings = st.lists(
    st.sampled_from([*LINE_ENDS, "  ", '\\"""', '"', "\\", "é", "#"])
    | st.text(alphabet=st.characters(exclude_characters='"\\\r\n'), max_size=6),
    max_size=10,
).map(lambda parts: '"""' + "".join(parts) + '"""')


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A valid query (names, numbers, variables, a fragment, strings and block strings),
    with arbitrary ignored text between every two tokens."""
    parts = [
        "query", "Q", "(", "$v", ":", "Int", "=", "-12", ")", "{",
        "a", ":", "b", "(", "s", ":", draw(strings), "t", ":", draw(block_strings),
        "n", ":", "1.5e3", ")", "{", "...", "F", "}", "}",
        "fragment", "F", "on", "T", "{", "x_1", "}",
    ]  # fmt: skip
    return "".join(part + draw(ignored) for part in parts)


def tokens(document: Any) -> list[tuple[Any, ...]]:
    out = []
    token: Token | None = document.loc.start_token
    while token is not None:
        out.append((token.kind, token.start, token.end, token.line, token.column, token.value))
        token = token.next
    return out


def outcome(parser: Any, text: str, max_tokens: int | None) -> tuple[Any, ...]:
    try:
        document = parser(text, max_tokens=max_tokens)
    except GraphQLSyntaxError as exc:
        return ("error", exc.message, exc.locations, exc.positions)
    assert document.loc is not None
    source = document.loc.source  # every error's locations come from it
    places = [source.get_location(p) for p in range(len(text) + 1)]
    return ("ok", tokens(document), document.to_dict(), places)


@given(text=documents(), max_tokens=st.sampled_from([None, 5000]))
def test_valid_documents_lex_the_same_whatever_lies_between_tokens(text: str, max_tokens: int | None) -> None:
    expected = outcome(parse, text, max_tokens)
    assert outcome(parse_document, text, max_tokens) == expected


@given(text=texts, max_tokens=st.sampled_from([None, 3, 12]))
@example(text='{ a(s: "x\\u{1F600}y\\"z") }', max_tokens=None)
@example(text='{ a(s: """ line\r\n  two \\""" \n three""") }', max_tokens=None)
@example(text="#" + "c" * 5000 + "\n{ a }", max_tokens=None)
@example(text="{ a }" + "\n#" * 20, max_tokens=12)
@example(text='{ a(s: "unterminated\n") }', max_tokens=None)
@example(text='{ a(s: "\ud83d\ude00") } # \ud83d\ude00 \ud83d', max_tokens=None)
def test_the_fast_lexer_agrees_with_graphql_core(text: str, max_tokens: int | None) -> None:
    assert outcome(parse_document, text, max_tokens) == outcome(parse, text, max_tokens)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('{\n  assets(where: {hostname: {_eq: "a#b"}}) { id }  # tail\n}\r\n', id="query"),
        pytest.param("\ufeff\r\n\r\n  { x }", id="bom-and-crlf"),
        pytest.param('{ x(a: """\n    indented\n      more\n""") }', id="block-string"),
    ],
)
def test_documents_parse_the_same(text: str) -> None:
    assert outcome(parse_document, text, 5000) == outcome(parse, text, 5000)
    assert outcome(parse_document, text, 5000)[0] == "ok"
