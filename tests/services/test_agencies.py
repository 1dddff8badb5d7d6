"""Document-type policy (services/agencies.py), read from each document's `(swf.v1.document)`
option: every type declares who may submit it, which agencies act on it and whose it is; a type
without a policy is a typed refusal (FAILED_PRECONDITION), never a KeyError that reaches a
caller as INTERNAL."""

from __future__ import annotations

import dataclasses

import grpc
import pytest

from core import documents
from core.errors import FailedPrecondition
from core.grpc_status import status_of
from services.agencies import DEFAULT_ROUTES, GOODS, PAYMENT, declaring_party, submit_roles
from swf.v1 import documents_pb2 as docs


def test_every_document_type_declares_its_policy() -> None:
    for t in documents.document_types():
        assert submit_roles(t.name), t.name
        assert DEFAULT_ROUTES[t.name], t.name
        assert documents.policy(t.name).party_field, t.name


def test_the_goods_declaration_and_the_payment_are_named_by_their_kind() -> None:
    assert (GOODS, PAYMENT) == ("goods_declaration", "duty_payment")
    assert submit_roles(GOODS) == ("declarant", "customs_broker")
    assert DEFAULT_ROUTES[PAYMENT] == ("tax",)


def test_the_declaring_party_follows_the_declared_field() -> None:
    message = docs.GoodsDeclaration(declarant_uscc="91350200MA2XXXXXX1")
    assert declaring_party(GOODS, message) == ("declarant_uscc", "91350200MA2XXXXXX1")


def test_an_unknown_type_is_refused_as_without_policy() -> None:
    with pytest.raises(FailedPrecondition) as refused:
        submit_roles("no_such_document")
    assert refused.value.reason == "document.no_policy"
    assert status_of(refused.value) is grpc.StatusCode.FAILED_PRECONDITION


def test_a_type_whose_option_declares_no_roles_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = dict(documents._registry())
    registry[GOODS] = dataclasses.replace(registry[GOODS], submit_roles=())
    monkeypatch.setattr(documents, "_registry", lambda: registry)
    with pytest.raises(FailedPrecondition) as refused:
        declaring_party(GOODS, docs.GoodsDeclaration())
    assert refused.value.reason == "document.no_policy"
