"""A stand-in for agency staff on a test network: a rule-based responder.

Plainly a simulator: it is off unless node.toml says `[simulator] enabled = true` (scripts/devnet
turns it on), and every decision it makes is recorded with the actor `<node>/<agency>/simulator`.
It claims open work items of every agency and decides them by these rules:

- inspection, on goods whose HS chapter is 01-24 (live animals, plants, food) in a goods
  declaration, licence, certificate of origin or phytosanitary certificate application: require
  an inspection, and release the goods on a later pass;
- customs, on a goods declaration sent by sea without a bill of lading: ask for it;
- everything else: accept.

What to do with a work item (`acts_on`) and which decision to take (`decide`) are pure functions
of the item and its document, with no clock or randomness: the same work gets the same answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from core.declaration_status import Review
from core.errors import SwnodeError
from services.declarations import Declarations
from storage.declarations import WorkRow
from swf.v1 import declarations_pb2 as dpb
from swf.v1 import documents_pb2 as docs

__all__ = ["AGRI_FOOD_CHAPTERS", "Simulator", "actor", "acts_on", "decide"]

log = logging.getLogger("swnode.simulator")

AGRI_FOOD_CHAPTERS = range(1, 25)


def _hs_codes(document: dpb.Document) -> list[str]:
    kind = document.WhichOneof("body")
    if kind == "goods_declaration":
        return [i.hs_code for i in document.goods_declaration.items]
    if kind == "licence_application":
        return [document.licence_application.goods.hs_code]
    if kind == "certificate_of_origin_application":
        return [i.hs_code for i in document.certificate_of_origin_application.items]
    if kind == "phytosanitary_certificate_application":
        return [i.hs_code for i in document.phytosanitary_certificate_application.items]
    return []


def actor(node: str, agency: str) -> str:
    """Who the simulator's claims and decisions are recorded as (`NODE/PARTY/USER`, as a
    person's are)."""
    return f"{node}/{agency}/simulator"


def acts_on(w: WorkRow, node: str) -> bool:
    """Whether the simulator takes up a work item: an open one, or one it claimed itself (its
    own inspection to release, or a claim a restart interrupted before the decision). A work item
    a person claimed is theirs to decide."""
    return w.status == "open" or (w.status == "claimed" and w.claimed_by == actor(node, w.agency))


def decide(agency: str, review: str, document: dpb.Document) -> tuple[dpb.Decision.ValueType, str]:
    """The simulator's decision and reason for one work item (pure)."""
    if review == Review.INSPECTION:
        return dpb.DECISION_RELEASE, "inspected: conforms"
    chapters = [int(code[:2]) for code in _hs_codes(document) if code[:2].isdigit()]
    if agency == "inspection" and any(c in AGRI_FOOD_CHAPTERS for c in chapters):
        return dpb.DECISION_REQUIRE_INSPECTION, "agricultural or food goods: inspection required"
    if agency == "customs" and document.WhichOneof("body") == "goods_declaration":
        goods = document.goods_declaration
        if goods.transport_mode == docs.TRANSPORT_MODE_SEA and not goods.bill_of_lading:
            return dpb.DECISION_REQUEST_INFORMATION, "bill_of_lading: required for goods by sea"
    return dpb.DECISION_ACCEPT, ""


SWEEP_S = 60.0


class Simulator:
    def __init__(self, declarations: Declarations, *, interval_s: float = 0.5) -> None:
        self._d = declarations
        self._interval_s = interval_s
        self.skipped = 0

    async def step(self) -> int:
        """One pass over open work; the number of items decided."""
        done = 0
        self.skipped = 0
        for w in await self._d.open_work():
            if not acts_on(w, self._d.node_id):
                continue
            try:
                await self._handle(w)
                done += 1
            except SwnodeError as exc:  # another hand got there first; try again next pass
                log.debug("simulator skipped %s: %s", w.id, exc)
                self.skipped += 1
        return done

    async def _handle(self, w: WorkRow) -> None:
        who = actor(self._d.node_id, w.agency)
        if w.status == "open":
            await self._d.claim_as(w.agency, who, w.id)
        _, document = await self._d.document_of(w)
        decision, reason = decide(w.agency, w.review, document)
        await self._d.decide_as(
            w.agency,
            who,
            dpb.DecideRequest(work_id=w.id, decision=decision, reason=reason, note="simulated"),
        )

    async def run(self) -> None:
        """A pass whenever the declarations change (new work, or work taken), every
        `interval_s` while a pass leaves work it could not do, and every `SWEEP_S` for work
        another replica opened."""
        wake = asyncio.Event()
        self._d.on_change(wake.set)
        while True:
            wake.clear()
            left = True
            try:
                left = await self.step() > 0 or self.skipped > 0
            except Exception:
                log.exception("simulator pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self._interval_s if left else SWEEP_S)
