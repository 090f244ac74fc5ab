"""Identity: which records describe the same real thing.

Identity rules are tried in order (serial number; asset tag; MAC; hostname + manufacturer).
Records that agree on every field of a rule are merged, unless the merge would join two
clusters that a stronger rule already says are different things (two different serial
numbers sharing one asset tag): then nothing is merged and the match is reported as an
ambiguity instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class Ambiguity:
    record: int
    rule: str
    #: records of the clusters the record matched
    candidates: list[int]
    reason: str


@dataclass
class Clusters:
    #: cluster root of each record (position in the input frame)
    root: np.ndarray
    ambiguities: list[Ambiguity] = field(default_factory=list)


def _normalised(col: pd.Series) -> pd.Series:
    """Identity comparison is case- and whitespace-insensitive for text; empty text is no key."""
    col = col.dropna()
    if col.empty:
        return col.astype(object)
    if pd.api.types.infer_dtype(col, skipna=True) == "string":
        col = col.str.strip().str.lower()
        return col[col != ""].astype(object)
    return col.astype(object)


def _rule_keys(frame: pd.DataFrame, rule: Sequence[str]) -> pd.Series:
    """One hashable key per record for a rule (records with an empty field have none);
    list-valued fields (MAC addresses) give one row per element."""
    if any(f not in frame.columns for f in rule):
        return pd.Series([], dtype=object)
    parts = []
    for f in rule:
        col = frame[f]
        first = col.dropna().head(1)
        if len(first) and isinstance(first.iloc[0], list | np.ndarray):
            col = col.explode()
        parts.append(_normalised(col))
    if len(parts) == 1:
        return parts[0]
    keys = pd.concat(parts, axis=1, join="inner")
    if keys.empty:
        return pd.Series([], dtype=object)
    return pd.Series(list(zip(*(keys[c] for c in keys.columns), strict=True)), index=keys.index)


def _groups(keys: pd.Series, roots: np.ndarray | None = None) -> Iterator[tuple[Any, list[int]]]:
    """(key, record positions) for every key shared by two or more records, via one sort;
    with `roots`, only keys whose records are not already all in one cluster."""
    shared = keys[keys.duplicated(keep=False)]
    if shared.empty:
        return
    codes, uniques = pd.factorize(shared, sort=False)
    positions = shared.index.to_numpy()
    if roots is not None:
        spread = pd.Series(roots[positions]).groupby(codes).nunique().to_numpy()
        keep = spread[codes] > 1
        codes, positions = codes[keep], positions[keep]
        if not len(codes):
            return
    order = np.argsort(codes, kind="stable")
    positions = positions[order]
    sorted_codes = codes[order]
    bounds = np.flatnonzero(np.diff(sorted_codes)) + 1
    for chunk, code in zip(np.split(positions, bounds), sorted_codes[np.r_[0, bounds]], strict=True):
        yield uniques[code], chunk.tolist()


class _UnionFind:
    def __init__(self, n: int, strong: list[pd.Series]) -> None:
        self.parent = np.arange(n, dtype=np.int64)
        self.size = np.ones(n, dtype=np.int64)
        #: per single-valued rule: each record's key (None: no key)
        self.strong = []
        for keys in strong:
            arr = np.full(n, None, dtype=object)
            arr[keys.index.to_numpy()] = keys.to_numpy(dtype=object)
            self.strong.append(arr)
        #: keys of clusters with more than one record: root → list of sets per rule
        self.keys: dict[int, list[set[Any]]] = {}
        #: records sorted by root, after a bulk merge (to find a cluster's members)
        self._by_root: tuple[np.ndarray, np.ndarray] | None = None

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = int(parent[x])
        return x

    def roots(self) -> np.ndarray:
        """Every record's root, compressing all paths at once."""
        p = self.parent
        while True:
            pp = p[p]
            if np.array_equal(pp, p):
                break
            p = pp
        self.parent = p
        return p

    def merge_all(self, keys: pd.Series) -> None:
        """Merge every group of records sharing a key, with no conflict checks (for the first
        rule, when no stronger rule exists): label propagation, vectorised."""
        shared = keys[keys.duplicated(keep=False)]
        if shared.empty:
            return
        codes = pd.factorize(shared, sort=False)[0]
        positions = shared.index.to_numpy()
        while True:
            roots = self.roots()[positions]
            smallest = np.full(codes.max() + 1, len(self.parent), dtype=np.int64)
            np.minimum.at(smallest, codes, roots)
            target = smallest[codes]
            moved = target < roots
            if not moved.any():
                break
            np.minimum.at(self.parent, roots[moved], target[moved])
        roots = self.roots()
        self.size = np.bincount(roots, minlength=len(roots))
        order = np.argsort(roots, kind="stable")
        self._by_root = (roots[order], order)

    def _members(self, root: int) -> np.ndarray:
        assert self._by_root is not None
        sorted_roots, order = self._by_root
        lo, hi = np.searchsorted(sorted_roots, [root, root + 1])
        return order[lo:hi]

    def key_sets(self, root: int) -> list[set[Any]]:
        known = self.keys.get(root)
        if known is not None:
            return known
        if self.size[root] == 1:
            return [({k} if (k := s[root]) is not None else set()) for s in self.strong]
        members = self._members(root)
        sets = [{k for k in s[members] if k is not None} for s in self.strong]
        self.keys[root] = sets
        return sets

    def conflict(self, a: int, b: int, upto: int) -> int | None:
        """Index of the first strong rule (before `upto`) on which the clusters disagree."""
        ka, kb = self.key_sets(a), self.key_sets(b)
        for i in range(min(upto, len(ka))):
            if ka[i] and kb[i] and ka[i].isdisjoint(kb[i]):
                return i
        return None

    def union(self, a: int, b: int) -> int:
        ka, kb = self.key_sets(a), self.key_sets(b)
        if self.size[a] < self.size[b]:
            a, b = b, a
        self.parent[b] = a
        self.size[a] += self.size[b]
        self.keys[a] = [x | y for x, y in zip(ka, kb, strict=True)]
        self.keys.pop(b, None)
        return a


def cluster(
    frame: pd.DataFrame, rules: Sequence[Sequence[str]], single: Sequence[bool] | None = None
) -> Clusters:
    """Group the records of `frame` (one entity, every source stacked) by the identity rules.
    `single`: per rule, whether its key is single-valued per record over every record of the
    entity (when `frame` holds only some of them); by default, over `frame`."""
    n = len(frame)
    frame = frame.reset_index(drop=True)
    rule_keys = [_rule_keys(frame, rule) for rule in rules]
    # rules whose key is single-valued per record take part in conflict checks
    if single is None:
        single = [not k.index.has_duplicates for k in rule_keys]
    strong = [k if s else pd.Series([], dtype=object) for k, s in zip(rule_keys, single, strict=True)]
    uf = _UnionFind(n, strong)
    ambiguities: list[Ambiguity] = []
    first = True
    for r, (rule, keys) in enumerate(zip(rules, rule_keys, strict=True)):
        if keys.empty:
            continue
        if first:
            uf.merge_all(keys)  # no stronger rule has a key yet: nothing can conflict
            first = False
            continue
        name = "+".join(rule)
        for key, idx in _groups(keys, uf.roots()):
            head = uf.find(idx[0])
            for rec in idx[1:]:
                other = uf.find(rec)
                if other == head:
                    continue
                bad = uf.conflict(head, other, r)
                if bad is not None:
                    ambiguities.append(
                        Ambiguity(
                            record=rec,
                            rule=name,
                            candidates=[head, other],
                            reason=f"{name} {key!r} is shared by records whose "
                            f"{'+'.join(rules[bad])} values differ; not merged",
                        )
                    )
                    continue
                head = uf.union(head, other)
    root = uf.roots().copy()
    for amb in ambiguities:
        amb.candidates = sorted({int(root[c]) for c in amb.candidates})
    return Clusters(root=root, ambiguities=ambiguities)
