"""The behaviour every connector kind promises, as tests a connector's test class inherits.

    class TestSqliteSource(ConnectorContract):
        @pytest.fixture
        def connector(self, ...) -> Connector: ...         # configured, data in place
        @pytest.fixture
        def expected_records(self, ...) -> dict[str, set[Any]]: ...
        @pytest.fixture
        def broken_connector(self, ...) -> Connector: ...  # points at a missing table/file/host
        @pytest.fixture
        def broken_problem(self) -> str: ...               # words the error must contain
        # optional
        @pytest.fixture
        def secret(self) -> str | None: ...                # must never appear in an error
        @pytest.fixture
        def change_records(self, ...) -> Callable[[], dict[str, set[Any]]]: ...

Record ids are compared as text: a single id column gives `str(value)`, several id columns a
tuple of `str`. Connectors are closed by the subclass's fixtures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pandas as pd
import pytest

from connectors.base import Batch, Connector, SourceError


def record_ids(frame: pd.DataFrame, id_columns: list[str]) -> list[Any]:
    columns = [frame[c].map(str).tolist() for c in id_columns]
    return columns[0] if len(columns) == 1 else list(zip(*columns, strict=True))


def read_all(connector: Connector, entity: str, cursor: str | None = None) -> list[Batch]:
    return list(connector.read(entity, cursor))


class ConnectorContract:
    #: False for kinds without an incremental cursor (files): every read is a full read
    supports_cursor: ClassVar[bool] = True

    @pytest.fixture
    def secret(self) -> str | None:
        """A password or token the broken connector's config holds (None: it holds none)."""
        return None

    @pytest.fixture
    def change_records(self) -> Callable[[], dict[str, set[Any]]]:
        """Changes the source after a first read; returns the ids changed or added."""
        raise NotImplementedError("connectors with a cursor provide change_records")

    def test_check_passes(self, connector: Connector) -> None:
        connector.check()

    def test_streams_are_the_configured_entities(
        self, connector: Connector, expected_records: dict[str, set[Any]]
    ) -> None:
        assert connector.streams() == list(connector.config.entities)
        assert set(connector.streams()) == set(expected_records)

    def test_read_yields_batches_with_exactly_the_expected_ids(
        self, connector: Connector, expected_records: dict[str, set[Any]]
    ) -> None:
        for entity, expected in expected_records.items():
            id_columns = connector.config.entities[entity].id_columns
            batches = read_all(connector, entity)
            assert batches, f"{entity}: read() yielded no batch"
            seen: list[Any] = []
            for batch in batches:
                assert isinstance(batch, Batch)
                assert isinstance(batch.frame, pd.DataFrame)
                assert set(id_columns) <= set(batch.frame.columns)
                seen += record_ids(batch.frame, id_columns)
            assert len(seen) == len(set(seen)), f"{entity}: a record came twice"
            assert set(seen) == expected, entity

    def test_cursor_resumes_with_only_the_changed_records(
        self, connector: Connector, request: pytest.FixtureRequest
    ) -> None:
        entities = connector.streams()
        first = {entity: read_all(connector, entity) for entity in entities}
        # reads resume at or after the cursor (`>=`): the records at the cursor itself (the
        # boundary) may come again, and nothing else when nothing changed
        boundary = {
            entity: self._boundary(connector, entity, first[entity][-1].cursor)
            for entity in entities
            if self.supports_cursor and connector.config.entities[entity].cursor
        }
        if not self.supports_cursor:
            for entity, batches in first.items():
                assert all(b.cursor is None for b in batches), entity
                again = read_all(connector, entity, "2024-01-01T00:00:00")
                assert sum(len(b.frame) for b in again) == sum(len(b.frame) for b in batches)
            return
        changed = request.getfixturevalue("change_records")()
        for entity in entities:
            stream = connector.config.entities[entity]
            if stream.cursor is None:
                assert all(b.cursor is None for b in first[entity]), entity
                continue
            cursor = first[entity][-1].cursor
            assert cursor is not None, f"{entity}: the last batch has no cursor"
            batches = read_all(connector, entity, cursor)
            ids = {i for b in batches for i in record_ids(b.frame, stream.id_columns)}
            expected = changed.get(entity, set())
            assert expected <= ids <= expected | boundary[entity], entity
            if expected:
                assert batches[-1].cursor not in (None, cursor), entity
            # the new cursor is past every change: a third read finds only the new boundary
            again = self._boundary(connector, entity, batches[-1].cursor)
            assert again <= ids, entity

    @staticmethod
    def _boundary(connector: Connector, entity: str, cursor: str | None) -> set[Any]:
        """The records read again from `cursor` with nothing changed: those at the cursor."""
        stream = connector.config.entities[entity]
        assert cursor is not None, f"{entity}: the last batch has no cursor"
        frames = [b.frame for b in read_all(connector, entity, cursor) if len(b.frame)]
        values = {str(v) for frame in frames for v in frame[stream.cursor]}
        assert len(values) <= 1, f"{entity}: a read from the cursor brought older records {values}"
        return {i for frame in frames for i in record_ids(frame, stream.id_columns)}

    def test_broken_source_fails_check_with_a_safe_message(
        self, broken_connector: Connector, broken_problem: str, secret: str | None
    ) -> None:
        with pytest.raises(SourceError) as info:
            broken_connector.check()
        self._assert_message(str(info.value), broken_problem, secret)

    def test_broken_source_fails_read_with_a_safe_message(
        self, broken_connector: Connector, broken_problem: str, secret: str | None
    ) -> None:
        for entity in broken_connector.streams():
            with pytest.raises(SourceError) as info:
                read_all(broken_connector, entity)
            self._assert_message(str(info.value), broken_problem, secret)

    def test_unknown_entity_is_a_source_error(self, connector: Connector) -> None:
        with pytest.raises(SourceError, match="no_such_entity"):
            read_all(connector, "no_such_entity")

    @staticmethod
    def _assert_message(message: str, problem: str, secret: str | None) -> None:
        assert problem.lower() in message.lower(), message
        if secret is not None:
            assert secret not in message, "the error message leaks the secret"
