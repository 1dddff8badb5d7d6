"""The data sharing pool (docs/LOGISTICS.md): pure rules, values in, decisions out.

- `evaluate` decides whether a party may read a dataset now, given the dataset's owner and
  policy, the grants the owner gave that party, whether the data is about the party's own
  declared cargo, and a clock. It never does I/O: the caller loads the grants and logs the
  decision, allowed or refused.
- A request for access lives on as its grant: pending → granted or refused; granted → revoked.
  `GRANTS` is that state machine (core/states.py), `after` applies it; `status_at` adds expiry,
  which is a matter of the clock.
- `sign_query` and `verify_query` are the signed peer query (docs/LOGISTICS.md section 6): the
  node where the party is logged in signs what it asks on the party's behalf, and the node asked
  verifies it against the directory before it answers, in the numbered steps of that section.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from google.protobuf.message import DecodeError

from core.algorithms import SigningKey
from core.errors import (
    FailedPrecondition,
    InvalidArgument,
    PermissionDenied,
    Unauthenticated,
    quote,
)
from core.ids import federation_of
from core.parties import PARTY_KINDS
from core.signing import sign, verifies
from core.states import ForbiddenTransition, StateTable
from core.trust import TrustView
from swf.v1 import logistics_pb2 as lpb

__all__ = [
    "ACTIONS",
    "GRANTS",
    "NONCE_BYTES",
    "QUERY_DOMAIN",
    "Decision",
    "GrantRecord",
    "GrantStatus",
    "Requester",
    "after",
    "check_dataset",
    "check_request",
    "evaluate",
    "sign_query",
    "status_at",
    "verify_query",
]

# Signature domain of the peer query (docs/LOGISTICS.md §6; PROTOCOL.md §0.4 lists the others).
QUERY_DOMAIN: Final = b"swnode/sharing-query/v1"
NONCE_BYTES: Final = 16
ACTIONS: Final = frozenset(
    {
        "find_declarations",
        "query_events",
        "watch_events",
        "list_datasets",
        "request_access",
        "list_requests",
    }
)

OPEN_TO_AGENCIES: Final = "open_to_agencies"
RESTRICTED: Final = "restricted"
POLICIES: Final = {
    lpb.SHARING_POLICY_OPEN_TO_AGENCIES: OPEN_TO_AGENCIES,
    lpb.SHARING_POLICY_RESTRICTED: RESTRICTED,
}
MAX_PERIOD_MS: Final = 366 * 86_400_000
MAX_PURPOSE: Final = 500
_DATASET_NAME = re.compile(r"^[a-z][a-z0-9-]{1,63}$")
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")


# -- who asks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Requester:
    """A party as the node that vouches for it names it: `NODE/PARTY` (NODE the node that issued
    its token, its home) and its kind."""

    address: str
    kind: str

    @property
    def home(self) -> str:
        return self.address.partition("/")[0]

    @property
    def party_id(self) -> str:
        return self.address.partition("/")[2]

    @property
    def federation(self) -> str:
        return federation_of(self.home)


# -- grants ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GrantRecord:
    """What `evaluate` needs of one access request of the party for the dataset."""

    id: str
    status: str  # a GrantStatus, as stored (never expired)
    valid_from_ms: int
    valid_until_ms: int
    decided_at_ms: int = 0
    revoked_at_ms: int = 0


class GrantStatus(enum.StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    REFUSED = "refused"
    REVOKED = "revoked"
    EXPIRED = "expired"  # a grant whose period ended, as its requester sees it; never stored


def status_at(record: GrantRecord, now_ms: int) -> GrantStatus:
    """The request's status as its requester sees it: a grant whose period ended is expired."""
    if record.status == GrantStatus.GRANTED and now_ms >= record.valid_until_ms:
        return GrantStatus.EXPIRED
    return GrantStatus(record.status)


def _refusal(status: GrantStatus, action: str, target: GrantStatus) -> ForbiddenTransition:
    return ForbiddenTransition(
        "sharing.bad_state",
        f"request_id: a request that is {status} cannot be {target}",
        state=status,
        transition=action,
    )


G = GrantStatus
GRANTS: Final = StateTable(
    "access request",
    {
        "grant": (frozenset({G.PENDING}), G.GRANTED),
        "refuse": (frozenset({G.PENDING}), G.REFUSED),
        "revoke": (frozenset({G.GRANTED}), G.REVOKED),
    },
    frozenset({G.REFUSED, G.REVOKED, G.EXPIRED}),
    _refusal,
)


def after(status: str, action: str) -> GrantStatus:
    """The status a request has after the owner's `action`, or a refusal naming both."""
    return GRANTS.check(GrantStatus(status), action)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # Allowed: owner, policy, declaration or grant. Refused: the reason code.
    reason: str
    message: str = ""
    detail: str = ""  # the grant used, or the declaration that makes the cargo the party's own


def evaluate(
    *,
    dataset: str,
    owner: str,
    policy: str,
    requester: Requester,
    grants: Sequence[GrantRecord],
    now_ms: int,
    declared: str = "",
) -> Decision:
    """May `requester` read dataset `dataset` (owned by party address `owner`) now?

    In this order: the owner reads its own; an agency of the owner's federation reads a dataset
    open to agencies; a party reads what concerns its own declared cargo (`declared` names the
    declaration, '' if none); a party holding a grant in its period reads. Otherwise the refusal
    says why, from the party's most recent decided grant: revoked, expired, or none."""
    if requester.address == owner:
        return Decision(True, "owner")
    if (
        policy == OPEN_TO_AGENCIES
        and requester.kind == "agency"
        and requester.federation == federation_of(owner.partition("/")[0])
    ):
        return Decision(True, "policy", detail=policy)
    if declared:
        return Decision(True, "declaration", detail=declared)
    decided = [g for g in grants if g.status in (GrantStatus.GRANTED, GrantStatus.REVOKED)]
    for g in decided:
        if g.status == GrantStatus.GRANTED and g.valid_from_ms <= now_ms < g.valid_until_ms:
            return Decision(True, "grant", detail=g.id)
    if decided:
        last = max(decided, key=lambda g: max(g.revoked_at_ms, g.decided_at_ms))
        if last.status == GrantStatus.REVOKED:
            return Decision(
                False,
                "sharing.grant_revoked",
                f"{dataset}: the owner revoked the grant {last.id}; ask it again",
                last.id,
            )
        if now_ms >= last.valid_until_ms:
            return Decision(
                False,
                "sharing.grant_expired",
                f"{dataset}: the grant {last.id} expired; ask for a new one",
                last.id,
            )
        return Decision(
            False,
            "sharing.no_grant",
            f"{dataset}: the grant {last.id} starts later; until then the owner has not granted "
            "access",
            last.id,
        )
    return Decision(
        False,
        "sharing.no_grant",
        f"{dataset}: {requester.address} holds no grant; ask the owner {owner} for access "
        "(RequestAccess)",
    )


# -- what is asked and published -------------------------------------------------------------


def check_request(
    purpose: str, valid_from_ms: int, valid_until_ms: int, now_ms: int
) -> tuple[str, int, int]:
    """A request's purpose and period: (purpose, from, until), or a refusal naming the field."""
    purpose = purpose.strip()
    if not purpose or len(purpose) > MAX_PURPOSE:
        raise InvalidArgument(
            "sharing.bad_request",
            f"purpose: required, at most {MAX_PURPOSE} characters: say what the data is for",
            field="purpose",
        )
    start = valid_from_ms or now_ms
    if valid_until_ms <= 0:
        raise InvalidArgument(
            "sharing.bad_request",
            "valid_until_unix_ms: required: access is asked for a period",
            field="valid_until_unix_ms",
        )
    if valid_until_ms <= max(start, now_ms):
        raise InvalidArgument(
            "sharing.bad_request",
            "valid_until_unix_ms: the period ends before it starts, or has ended",
            field="valid_until_unix_ms",
        )
    if valid_until_ms - start > MAX_PERIOD_MS:
        raise InvalidArgument(
            "sharing.bad_request",
            "valid_until_unix_ms: a period is at most 366 days; ask again when it ends",
            field="valid_until_unix_ms",
        )
    return purpose, start, valid_until_ms


def check_dataset(req: lpb.PublishDatasetRequest) -> tuple[str, str, tuple[str, ...], str]:
    """(name, description, fields, policy) of a dataset to publish, or a refusal naming the
    field. An unspecified policy is open to the federation's agencies: sharing is the rule."""
    if not _DATASET_NAME.match(req.name):
        raise InvalidArgument(
            "dataset.invalid",
            f"name: {quote(req.name)} must be 2-64 lowercase letters, digits and -, "
            "starting with a letter",
            field="name",
        )
    description = req.description.strip()
    if not description or len(description) > 1000:
        raise InvalidArgument(
            "dataset.invalid", "description: required, at most 1000 characters", field="description"
        )
    fields = tuple(dict.fromkeys(f.strip() for f in req.fields if f.strip()))
    bad = [f for f in fields if not _FIELD_NAME.match(f)]
    if bad or len(fields) > 200:
        raise InvalidArgument(
            "dataset.invalid",
            f"fields: at most 200 names of letters, digits, _ . -; not {', '.join(bad)}",
            field="fields",
        )
    if req.policy == lpb.SHARING_POLICY_UNSPECIFIED:
        policy = OPEN_TO_AGENCIES
    elif req.policy in POLICIES:
        policy = POLICIES[req.policy]
    else:
        raise InvalidArgument(
            "dataset.invalid", f"policy: {req.policy} is no sharing policy", field="policy"
        )
    return req.name, description, fields, policy


# -- the signed peer query (docs/LOGISTICS.md §6) --------------------------------------------


def sign_query(query: lpb.PeerQuery, key: SigningKey, key_id: str) -> lpb.SignedQuery:
    """Serialize `query` once and sign exactly those bytes."""
    body = query.SerializeToString(deterministic=True)
    return lpb.SignedQuery(query=body, signature=sign(key, QUERY_DOMAIN, body), key_id=key_id)


def verify_query(
    signed: lpb.SignedQuery,
    *,
    trust: TrustView,
    caller: str,
    self_id: str,
    action: str,
    now_ms: int,
    skew_ms: int,
) -> lpb.PeerQuery:
    """The query a member node signed for this node, or the refusal of the first check that
    fails. `caller` is the node mutual TLS authenticated on this call. The nonce is checked
    against those seen before by the caller (step 8), which needs storage."""
    # 1. The key is a signing key of a node this node trusts.
    ref = trust.signing_key(signed.key_id)
    if ref is None:
        raise Unauthenticated(
            "query.unknown_key",
            f"key_id: {quote(signed.key_id)} is no signing key in the directory",
        )
    # 2. Its owner is the node on the other end of the connection, a member of this federation.
    if ref.node_id != caller:
        raise Unauthenticated(
            "query.wrong_node", f"the query is signed by {ref.node_id}, but {caller} sent it"
        )
    if federation_of(caller) != federation_of(self_id):
        raise PermissionDenied(
            "sharing.foreign",
            f"{caller} is not in federation {federation_of(self_id)}; data is shared within it",
        )
    # 3. The signature verifies over the query bytes as carried.
    if not verifies(
        ref.public_key, signed.signature, QUERY_DOMAIN, signed.query, algorithm=ref.algorithm
    ):
        raise Unauthenticated("query.bad_signature", "the query's signature does not verify")
    # 4. Only now: the bytes parse.
    try:
        query = lpb.PeerQuery.FromString(signed.query)
    except DecodeError as exc:
        raise InvalidArgument("query.malformed", "the signed query does not parse") from exc
    # 5. It names its signer, this node and this call.
    if query.from_node != ref.node_id:
        raise Unauthenticated(
            "query.wrong_node", f"from_node: {quote(query.from_node)}, but {ref.node_id} signed it"
        )
    if query.to_node != self_id:
        raise PermissionDenied(
            "query.misaddressed", f"to_node: the query is for {quote(query.to_node)}, not {self_id}"
        )
    if query.action != action:
        raise InvalidArgument(
            "query.wrong_action", f"action: the query is for {quote(query.action)}, not {action}"
        )
    # 6. Its time is within the clock skew allowed, both ways: not from the future, not old.
    if query.issued_at_unix_ms > now_ms + skew_ms:
        raise InvalidArgument(
            "query.clock_skew", "issued_at_unix_ms: the query was made in this node's future"
        )
    if query.issued_at_unix_ms < now_ms - skew_ms:
        raise FailedPrecondition(
            "query.expired", "issued_at_unix_ms: the query is too old to be answered; ask again"
        )
    # 7. A nonce, and a party of the federation with a known kind.
    home, _, party = query.party.partition("/")
    if (
        len(query.nonce) != NONCE_BYTES
        or not home
        or not party
        or federation_of(home) != federation_of(self_id)
        or query.party_kind not in PARTY_KINDS
    ):
        raise InvalidArgument(
            "query.malformed",
            "the query needs a 16-byte nonce and a party NODE/PARTY of this federation with "
            "its kind",
        )
    return query
