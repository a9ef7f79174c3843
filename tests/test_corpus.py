"""Every file of the BPMN corpus from other modelers (tests/data/bpmn-corpus, the OMG MIWG test
suite as exported by bpmn.io/Camunda and Eclipse) either deploys, or is rejected with a list of
problems that each name an element of the file and give a reason in Chinese — never a crash,
never a traceback, and a rejected file stores nothing."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import DATA, build_system
from govflow.errors import ValidationFailed
from govflow.store.models import Blob, ProcessVersion
from helpers import count, deploy_xml

CORPUS = sorted((DATA / "bpmn-corpus").rglob("*.bpmn"))
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def corpus_system(tmp_path_factory):
    system = build_system(f"sqlite:///{tmp_path_factory.mktemp('corpus')}/govflow.db")
    yield system
    system.store.dispose()


def test_the_corpus_is_all_there():
    assert len(CORPUS) == 85


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(DATA / "bpmn-corpus")))
def test_corpus_file_deploys_or_is_rejected_element_by_element(corpus_system, path: Path):
    content = path.read_bytes()
    stored = (count(corpus_system, ProcessVersion), count(corpus_system, Blob))
    try:
        result = deploy_xml(corpus_system, content, path.name)
    except ValidationFailed as rejected:
        assert rejected.details, "a rejection lists its problems"
        for problem in rejected.details:
            assert CJK.search(problem["reason"]), problem
            assert "Traceback" not in problem["reason"]
            element = problem["element"]
            assert element and (element.startswith("(") or f'id="{element}"'.encode() in content), problem
        assert (count(corpus_system, ProcessVersion), count(corpus_system, Blob)) == stored
        return
    assert result["versions"], "a deployed file yields at least one process version"
    assert count(corpus_system, ProcessVersion) >= stored[0]
