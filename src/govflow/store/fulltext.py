"""Full-text search of Chinese without word breaks, on SQLite (FTS5) and PostgreSQL (tsvector) behind
one interface: ``Analyzed`` (what a query asks), ``replace`` (an instance's document, written in the
step's transaction) and ``matching`` (a condition on Instance for a query).

Chinese is indexed as overlapping character bigrams, as Lucene's CJK analyzer does: 公交站台改造 →
公交 交站 站台 台改 改造, so that 站台 — a two-character word, as most Chinese words are, which a trigram
index cannot answer — is a term of its own, and 公交站台 is the phrase 公交 交站 站台. Each run of
Chinese characters also ends with its last character alone (… 改造 造): every character of the text is
then the first character of some token, so a one-character query is the prefix query 造* (FTS5 and
tsquery both answer prefixes from the index) and no separate unigram of every character is stored.
Latin letters and digits are words, lower-cased after NFKC (full-width １２ is 12).

Neither database parses the text: we hand both the token list (FTS5's unicode61 keeps each of our
tokens whole; PostgreSQL gets a tsvector and a tsquery literal, never to_tsvector's parser, whose
idea of a Chinese word depends on the server's locale). A query's syntax is ours too: quotes, FTS5
operators (AND, NEAR, *, ^, :) and tsquery operators are only punctuation or words to us.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import Integer, bindparam, column, text
from sqlalchemy.orm import Session

from ..errors import ValidationFailed

MAX_QUERY = 100          # characters a query may have: longer is refused with a message, never cut silently
MAX_DOCUMENT = 20_000    # characters of an instance's document that are indexed (its start, in order)
MAX_POSITION = 16_383    # PostgreSQL's largest tsvector position
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_RUNS = re.compile(f"([{_CJK}]+)|([^\\W_{_CJK}]+)")


def _runs(value: str) -> list[tuple[bool, str]]:
    """(is Chinese, run) in order; everything that is neither is a break."""
    value = unicodedata.normalize("NFKC", value).lower()
    return [(bool(cjk), cjk or word[:64]) for cjk, word in _RUNS.findall(value)]


def tokens(value: str) -> list[str]:
    """The index terms of ``value``, in order."""
    found: list[str] = []
    for cjk, run in _runs(value):
        if cjk and len(run) > 1:
            found += [run[i:i + 2] for i in range(len(run) - 1)]
        found.append(run[-1] if cjk else run)
    return found


@dataclass(frozen=True)
class Analyzed:
    """A query as parts that must all match: a phrase of bigrams, one character (a prefix), or a word."""
    phrases: tuple[tuple[str, ...], ...]
    prefixes: tuple[str, ...]

    @classmethod
    def of(cls, query: str) -> "Analyzed":
        if len(query) > MAX_QUERY:
            raise ValidationFailed(f"检索词过长（{len(query)} 字，上限 {MAX_QUERY} 字），请缩短后再检索",
                                   [{"field": "q", "reason": f"超过 {MAX_QUERY} 字"}])
        phrases, prefixes = [], []
        for cjk, run in _runs(query):
            if cjk and len(run) == 1:
                prefixes.append(run)
            elif cjk:
                phrases.append(tuple(run[i:i + 2] for i in range(len(run) - 1)))
            else:
                phrases.append((run,))
        if not phrases and not prefixes:
            raise ValidationFailed("检索词须包含汉字、字母或数字（标点和符号不参与检索）",
                                   [{"field": "q", "reason": "没有可检索的文字"}])
        return cls(tuple(dict.fromkeys(phrases)), tuple(dict.fromkeys(prefixes)))

    def fts5(self) -> str:
        """An FTS5 MATCH expression: every term quoted (our terms hold no quote), so nothing is syntax."""
        parts = ['"' + " ".join(p) + '"' for p in self.phrases] + [f'"{c}" *' for c in self.prefixes]
        return " AND ".join(parts)

    def tsquery(self) -> str:
        parts = [" <-> ".join(_lexeme(t) for t in p) for p in self.phrases]
        parts += [f"{_lexeme(c)}:*" for c in self.prefixes]
        return " & ".join(f"({p})" for p in parts)

    def needles(self) -> list[str]:
        """What the text shows of each part, for a snippet: the phrase's characters."""
        return [p[0] + "".join(t[1:] for t in p[1:]) if len(p[0]) == 2 else " ".join(p) for p in self.phrases] + \
            list(self.prefixes)


def _lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector(terms: list[str]) -> str:
    """A tsvector literal with positions (for phrases); past PostgreSQL's last position they repeat it."""
    return " ".join(f"{_lexeme(t)}:{min(i + 1, MAX_POSITION)}" for i, t in enumerate(terms))


# -- writing and matching -------------------------------------------------------------------------------------
_SQLITE_REPLACE = text("INSERT OR REPLACE INTO search_index (rowid, terms, body) VALUES (:id, :terms, :body)")
_PG_REPLACE = text("INSERT INTO search_index (instance_id, terms, body) VALUES (:id, CAST(:terms AS tsvector), :body) "
                   "ON CONFLICT (instance_id) DO UPDATE SET terms = excluded.terms, body = excluded.body")


def document_rows(instance_id: int, body: str, sqlite: bool) -> dict:
    body = body[:MAX_DOCUMENT]
    terms = tokens(body)
    return {"id": instance_id, "body": body, "terms": " ".join(terms) if sqlite else tsvector(terms)}


def replace(session: Session, instance_id: int, body: str) -> None:
    """The instance's document is now ``body`` (one statement, in the caller's transaction)."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    session.execute(_SQLITE_REPLACE if sqlite else _PG_REPLACE, document_rows(instance_id, body, sqlite))


_SQLITE_MATCH = text("SELECT rowid AS id FROM search_index WHERE search_index MATCH :match")
_PG_MATCH = text("SELECT instance_id AS id FROM search_index WHERE terms @@ CAST(:match AS tsquery)")


def matching(query: Analyzed, sqlite: bool):
    """A select of the ids of the instances whose document matches ``query``."""
    statement, match = (_SQLITE_MATCH, query.fts5()) if sqlite else (_PG_MATCH, query.tsquery())
    return statement.bindparams(match=match).columns(column("id", Integer))


def bodies(session: Session, instance_ids: list[int]) -> dict[int, str]:
    if not instance_ids:
        return {}
    column = "rowid" if session.get_bind().dialect.name == "sqlite" else "instance_id"
    rows = session.execute(text(f"SELECT {column}, body FROM search_index WHERE {column} IN :ids")
                           .bindparams(bindparam("ids", expanding=True)), {"ids": instance_ids})
    return dict(rows.all())
