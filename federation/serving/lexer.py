"""graphql-core's parser with a lexer whose cost grows with the tokens, not the characters.

graphql-core lexes one character per Python loop turn: a 250 KB comment, run of blanks,
name or string costs 120-390 ms of a core, holding the interpreter lock the event loop needs
(issue 10: such bodies pushed /healthz's p99 past 150 ms). `FastLexer` skips blanks and
reads comments, names and strings with compiled regular expressions (C loops) and produces
the very same tokens (kinds, offsets, lines, columns, values) and the same syntax errors:
whatever it does not handle itself (a surrogate pair, an escape's own errors) goes to
graphql-core's code. `tests/serving/test_lexer.py` checks the two agree on arbitrary text.

    document = parse_document(text, max_tokens=5000)
"""

from __future__ import annotations

import re

from graphql import DocumentNode, Source, SourceLocation
from graphql.language import Token, TokenKind
from graphql.language.block_string import dedent_block_string_lines
from graphql.language.lexer import Lexer
from graphql.language.parser import Parser, nested_too_deeply_error

#: blanks, commas, byte order marks and line ends between tokens
_IGNORED = re.compile(r"[ \t,\ufeff\n\r]+")
#: a run of characters a comment, a string or a block string keeps as they are; it stops at
#: a line end, a quote, a backslash or a surrogate (graphql-core decides about those)
_COMMENT_RUN = re.compile(r"[^\r\n\ud800-\udfff]*")
_STRING_RUN = re.compile(r'[^"\\\r\n\ud800-\udfff]*')
_NAME_CONTINUE = re.compile(r"[_0-9A-Za-z]*")
#: the characters `_IGNORED` matches, one at a time
_BLANKS = frozenset(" \t,\ufeff\n\r")


class FastSource(Source):
    """A Source whose line and column of a position (every error's `locations`) are counted
    by str.count/rfind, not by a Python loop over a regular expression's matches."""

    def get_location(self, position: int) -> SourceLocation:
        body = self.body
        if body.find("\r", 0, position) != -1:  # \r and \r\n line ends: graphql-core's count
            return super().get_location(position)
        line_start = body.rfind("\n", 0, position) + 1
        return SourceLocation(body.count("\n", 0, position) + 1, position + 1 - line_start)


class FastLexer(Lexer):
    """graphql-core's Lexer, with the per-character loops done by regular expressions."""

    def read_next_token(self, start: int) -> Token:
        body = self.source.body
        if body[start : start + 1] in _BLANKS:  # most tokens follow one blank: one call less
            skipped = _IGNORED.match(body, start)
            assert skipped is not None
            end = skipped.end()
            run = body[start:end]
            if "\r" in run:
                self.line += run.count("\n") + run.count("\r") - run.count("\r\n")
                self.line_start = start + max(run.rfind("\n"), run.rfind("\r")) + 1
            elif "\n" in run:
                self.line += run.count("\n")
                self.line_start = start + run.rfind("\n") + 1
            start = end
        return super().read_next_token(start)

    def read_comment(self, start: int) -> Token:
        body = self.source.body
        match = _COMMENT_RUN.match(body, start + 1)
        assert match is not None  # `*` always matches
        end = match.end()
        if end < len(body) and body[end] not in "\r\n":
            return super().read_comment(start)  # a surrogate: graphql-core's rules
        max_comments = self._max_comments
        if max_comments is not None:
            count = self._comment_count + 1
            if count > max_comments:
                return super().read_comment(start)  # raises its own error
            self._comment_count = count
        return self.create_token(TokenKind.COMMENT, start, end, body[start + 1 : end])

    def read_name(self, start: int) -> Token:
        body = self.source.body
        match = _NAME_CONTINUE.match(body, start + 1)
        assert match is not None
        end = match.end()
        return self.create_token(TokenKind.NAME, start, end, body[start:end])

    def read_string(self, start: int) -> Token:
        body = self.source.body
        body_length = len(body)
        position = start + 1
        value: list[str] = []
        while True:
            run = _STRING_RUN.match(body, position)
            assert run is not None
            value.append(body[position : run.end()])
            position = run.end()
            if position >= body_length:
                return super().read_string(start)  # unterminated: its error
            char = body[position]
            if char == '"':
                return self.create_token(TokenKind.STRING, start, position + 1, "".join(value))
            if char != "\\":  # a line end or a surrogate: graphql-core's rules
                return super().read_string(start)
            if body[position + 1 : position + 2] == "u":
                escape = (
                    self.read_escaped_unicode_variable_width(position)
                    if body[position + 2 : position + 3] == "{"
                    else self.read_escaped_unicode_fixed_width(position)
                )
            else:
                escape = self.read_escaped_character(position)
            value.append(escape.value)
            position += escape.size

    def read_block_string(self, start: int) -> Token:
        body = self.source.body
        body_length = len(body)
        line_start = self.line_start
        position = start + 3
        chunk_start = position
        current_line = ""
        block_lines: list[str] = []
        while True:
            run = _STRING_RUN.match(body, position)
            assert run is not None
            position = run.end()
            if position >= body_length:
                return super().read_block_string(start)  # unterminated: its error
            char = body[position]
            if char == '"':
                if body[position + 1 : position + 3] == '""':
                    current_line += body[chunk_start:position]
                    block_lines.append(current_line)
                    token = self.create_token(
                        TokenKind.BLOCK_STRING,
                        start,
                        position + 3,
                        "\n".join(dedent_block_string_lines(block_lines)),
                    )
                    self.line += len(block_lines) - 1
                    self.line_start = line_start
                    return token
                position += 1
            elif char == "\\":
                if body[position + 1 : position + 4] == '"""':
                    current_line += body[chunk_start:position]
                    chunk_start = position + 1  # skip only the slash
                    position += 4
                else:
                    position += 1
            elif char in "\r\n":
                current_line += body[chunk_start:position]
                block_lines.append(current_line)
                position += 2 if char == "\r" and body[position + 1 : position + 2] == "\n" else 1
                current_line = ""
                chunk_start = line_start = position
            else:  # a surrogate: graphql-core's rules
                return super().read_block_string(start)


def parse_document(text: str, max_tokens: int | None = None) -> DocumentNode:
    """`graphql.parse(text, max_tokens=…)`, lexed by `FastLexer`."""
    source = FastSource(text)
    parser = Parser(source, max_tokens=max_tokens, lexer=FastLexer(source))
    try:
        return parser.parse_document()
    except RecursionError:
        pass
    raise nested_too_deeply_error(parser)
