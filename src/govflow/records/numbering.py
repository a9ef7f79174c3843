"""发文字号 in the form of GB/T 9704: 机关代字〔年份〕序号号 — the full year in 六角括号, no 第, no
leading zeros — one sequence per 机关代字 and year, recorded in the 发文登记簿.

A number is taken inside the step that registers the document, under a lock on its sequence row:
two registrations at once queue, and a step that fails gives its number back by rolling back, so
the sequence has neither gaps nor duplicates.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..store.models import DocumentRegister, DocumentSequence


def format_number(prefix: str, year: int, sequence: int) -> str:
    return f"{prefix}〔{year}〕{sequence}号"


class Numbering:
    def __init__(self, session: Session):
        self.session = session

    def take(self, prefix: str, year: int) -> int:
        insert = pg_insert if self.session.bind.dialect.name == "postgresql" else sqlite_insert
        self.session.execute(insert(DocumentSequence).values(prefix=prefix, year=year, last=0)
                             .on_conflict_do_nothing(index_elements=["prefix", "year"]))
        row = self.session.scalars(select(DocumentSequence).where(DocumentSequence.prefix == prefix,
                                                                  DocumentSequence.year == year)
                                   .with_for_update().execution_options(populate_existing=True)).one()
        row.last += 1
        return row.last

    def register(self, prefix: str, instance_id: int, title: str, doc_type: str, signer: str, signed_on: date,
                 now: datetime) -> str:
        """The document's 发文字号: a new one, or — signed again after a 退回 — the one it has."""
        existing = self.session.scalars(select(DocumentRegister).where(DocumentRegister.instance_id == instance_id)
                                        ).first()
        if existing is not None:
            existing.title, existing.signer, existing.signed_on = title[:300], signer, signed_on
            return existing.number
        year = signed_on.year
        sequence = self.take(prefix, year)
        number = format_number(prefix, year, sequence)
        self.session.add(DocumentRegister(number=number, prefix=prefix, year=year, sequence=sequence,
                                          instance_id=instance_id, title=title[:300], doc_type=doc_type,
                                          signer=signer, signed_on=signed_on, registered_at=now))
        return number
