"""The operator console of real nodes over real HTTP: sign-in with both factors (a wrong code
refused, the one-time password replaced first), an operator of another node refused, CSRF,
the lock after failed logins, every view, a dead message (its peer stopped, a short TTL)
found, redriven once the peer is back and delivered, its evidence verified, and every action
in the audit log and its JSON lines export."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from node.config import write_config
from tests.harness import Network, NetworkSpec, swnode
from tests.web.console.console_client import (
    NEW_PASSWORD,
    Enrolled,
    OperatorVisitor,
    add_operator,
    audit_export,
    reset_operator,
    text_of,
)
from tests.web.portal_client import csrf_of

pytestmark = [pytest.mark.network, pytest.mark.timeout(180)]

SPEC = NetworkSpec(provinces=2, foreign=0, simulator=False)


@pytest.fixture(scope="module")
def net(module_network_factory) -> Network:  # type: ignore[no-untyped-def]
    network: Network = module_network_factory(SPEC)
    return network


@pytest.fixture
def operator(net: Network) -> Iterator[tuple[OperatorVisitor, Enrolled]]:
    who = add_operator(net.dir("CN-GD"))
    visitor = OperatorVisitor(net, "CN-GD")
    visitor.enrol(who)
    yield visitor, who
    visitor.close()


def actions_of(visitor: OperatorVisitor, user: str) -> list[tuple[str, str, str]]:
    return [
        (r["action"], r["object"], r["outcome"])
        for r in audit_export(visitor)
        if r["operator"] == user
    ]


def test_sign_in_needs_the_code_and_a_new_password_first(net: Network) -> None:
    who = add_operator(net.dir("CN-GD"))
    visitor = OperatorVisitor(net, "CN-GD")
    try:
        asked = visitor.get("/console/messages")
        assert asked.status_code == 303
        assert asked.headers["location"] == "/console/login?next=/console/messages"
        right = who.totp.now()
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        refused = visitor.sign_in(who, code=wrong)
        assert refused.status_code == 400
        assert "login.failed" in refused.text and 'id="password-error"' in refused.text
        assert visitor.get("/console").status_code == 303  # still signed out
        before = visitor.http.cookies.get("swnode")
        first = visitor.sign_in(who, code=right)
        assert first.status_code == 303 and first.headers["location"] == "/console/password"
        cookie = first.headers["set-cookie"].lower()  # a new id at sign-in, the portal's flags
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        assert visitor.http.cookies.get("swnode") != before
        assert "content-security-policy" in visitor.get("/console/password").headers
        held = visitor.get("/console/peers")
        assert held.status_code == 303 and held.headers["location"] == "/console/password"
        visitor.post(
            "/console/password", {"current_password": who.password, "new_password": "short"}
        )
        changed = visitor.post(
            "/console/password",
            {"current_password": who.password, "new_password": "a passphrase of my own"},
        )
        assert changed.status_code == 303
        directory = visitor.get("/console")
        assert directory.status_code == 200
        for node in ("CN", "CN-GD", "CN-SH"):
            assert f"<td>{node}</td>" in directory.text
        assert actions_of(visitor, who.user) == [
            ("login", who.user, "refused"),
            ("login", who.user, "ok"),
            ("password.change", who.user, "refused"),
            ("password.change", who.user, "ok"),
            ("audit.export", "audit_log", "ok"),
        ]
    finally:
        visitor.close()


def test_an_operator_signs_in_at_its_own_node_only(net: Network) -> None:
    who = add_operator(net.dir("CN-GD"))
    elsewhere = OperatorVisitor(net, "CN-SH")
    try:
        refused = elsewhere.sign_in(who)
        assert refused.status_code == 400 and "login.failed" in refused.text
        assert elsewhere.get("/console").status_code == 303
    finally:
        elsewhere.close()
    # nor is an operator a user of the portal
    portal = OperatorVisitor(net, "CN-GD")
    try:
        answer = portal.login("CN-GD", user=who.user, password=who.password)
        assert answer.status_code == 400
    finally:
        portal.close()


def test_a_reset_signs_the_operator_out_and_a_removal_keeps_it_out(
    net: Network, operator: tuple[OperatorVisitor, Enrolled]
) -> None:
    """`swnode operator reset` beside the running node: the open session ends, the old factors
    are refused, the new ones sign in (the one-time password replaced first); after `swnode
    operator remove` the operator cannot sign in at all."""
    visitor, who = operator
    assert visitor.get("/console").status_code == 200
    new = reset_operator(net.dir("CN-GD"), who.user)
    assert visitor.get("/console").headers["location"] == "/console/login?next=/console"
    old = replace(new, password=NEW_PASSWORD, totp=who.totp)
    assert visitor.sign_in(old).status_code == 400
    assert visitor.sign_in(new, password=NEW_PASSWORD).status_code == 400  # the new code alone
    first = visitor.sign_in(new)
    assert first.status_code == 303 and first.headers["location"] == "/console/password"
    removed = swnode("operator", "remove", "--dir", str(net.dir("CN-GD")), "--user", who.user)
    assert removed.returncode == 0, removed.stderr
    assert visitor.get("/console/password").status_code == 303  # signed out
    refused = visitor.sign_in(new)
    assert refused.status_code == 400 and "login.failed" in refused.text


def test_forms_without_the_token_or_from_another_site_are_refused(
    operator: tuple[OperatorVisitor, Enrolled],
) -> None:
    visitor, who = operator
    page = visitor.get("/console/parties")
    token = csrf_of(page.text)
    no_token = visitor.http.post(
        "/console/parties",
        data={"id": "csrf-agency", "kind": "agency", "name": "X", "user": "officer"},
        headers={"origin": visitor.base},
    )
    assert no_token.status_code == 403
    cross = visitor.http.post(
        "/console/parties",
        data={"csrf_token": token, "id": "csrf-agency", "kind": "agency", "name": "X"},
        headers={"origin": "https://evil.example", "sec-fetch-site": "cross-site"},
    )
    assert cross.status_code == 403
    assert "csrf-agency" not in visitor.get("/console/parties").text
    assert not [a for a in actions_of(visitor, who.user) if a[0] == "party.add"]


def test_the_views_answer_and_every_action_is_audited(
    net: Network, operator: tuple[OperatorVisitor, Enrolled]
) -> None:
    visitor, who = operator
    peers = visitor.get("/console/peers")
    assert peers.status_code == 200 and 'id="peer-CN"' in peers.text
    assert " ms" in text_of(peers.text.split('id="peer-CN"')[1].split("</tr>")[0])
    charts = visitor.get("/console/charts")
    assert charts.status_code == 200 and "<svg" in charts.text and "<script>" not in charts.text
    party = f"agency{int(time.time() * 1000) % 100000}"
    added = visitor.post(
        "/console/parties",
        {"id": party, "kind": "agency", "name": "Port health", "roles": "", "user": "officer"},
    )
    assert added.status_code == 200 and f'id="party-{party}"' in added.text
    bad = visitor.post("/console/parties", {"id": "Bad Id", "kind": "agency", "name": "X"})
    assert bad.status_code == 400 and 'id="id-error"' in bad.text
    suspended = visitor.post(f"/console/parties/{party}/suspend", {}, token_from="/console/parties")
    assert suspended.status_code == 303
    row = visitor.get("/console/parties").text.split(f'id="party-{party}"')[1].split("</tr>")[0]
    assert "Suspended" in row
    visitor.post(f"/console/parties/{party}/resume", {}, token_from="/console/parties")
    assert visitor.get("/console/revocation").status_code == 404  # a province revokes nothing
    assert actions_of(visitor, who.user)[-5:] == [
        ("party.add", party, "ok"),
        ("party.add", "Bad Id", "refused"),
        ("party.suspend", party, "ok"),
        ("party.resume", party, "ok"),
        ("audit.export", "audit_log", "ok"),
    ]
    audit_page = visitor.get("/console/audit")
    assert audit_page.status_code == 200 and party in audit_page.text


def test_a_refused_suspension_shows_the_reason_in_the_pages_language(net: Network) -> None:
    """As the console's other forms: the reason code's sentence, then the service's own text
    as the detail line."""
    who = add_operator(net.dir("CN-GD"))
    visitor = OperatorVisitor(net, "CN-GD", language="zh-CN")
    try:
        visitor.enrol(who)
        for action in ("suspend", "resume"):
            refused = visitor.post(
                f"/console/parties/nosuchparty/{action}", {}, token_from="/console/parties"
            )
            assert refused.status_code == 400, refused.text
            assert "本单一窗口没有该主体。 (party.unknown)" in refused.text
            detail = '<span class="refusal__detail" lang="en">id: nosuchparty is not a party of'
            assert detail in refused.text
        redriven = visitor.post(
            "/console/messages/nosuchmessage/redrive", {}, token_from="/console/messages"
        )
        assert redriven.status_code == 400 and "(message.unknown)" in redriven.text
        assert "no outgoing message nosuchmessage</span>" in redriven.text
    finally:
        visitor.close()


def test_a_dead_message_is_found_redriven_and_delivered(
    net: Network, operator: tuple[OperatorVisitor, Enrolled], tmp_path: Path
) -> None:
    visitor, who = operator
    payload = tmp_path / "doc.txt"
    payload.write_text("licence application")
    net.stop("CN-SH")
    try:
        sent = swnode(
            "send", "--dir", str(net.dir("CN-GD")), "--to", "CN-SH",
            "--type", "licence.application", "--file", str(payload), "--ttl", "2s",
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        mid = sent.stdout.strip()
        deadline = time.monotonic() + 30
        while True:
            found = visitor.get(f"/console/messages?message_id={mid}&status=dead")
            if f'/console/messages/{mid}"' in found.text:
                break
            assert time.monotonic() < deadline, "the message did not go dead"
            time.sleep(0.5)
        page = visitor.get(f"/console/messages/{mid}")
        assert 'id="redrive"' in page.text
        assert "expired" in page.text.split('id="last-error-out">')[1].split("</dd>")[0]
    finally:
        net.start("CN-SH")
        net.wait_healthy(["CN-SH"])
    redriven = visitor.post(
        f"/console/messages/{mid}/redrive", {}, token_from=f"/console/messages/{mid}"
    )
    assert redriven.status_code == 303
    deadline = time.monotonic() + 30
    while 'id="status-out">delivered' not in visitor.get(f"/console/messages/{mid}").text:
        assert time.monotonic() < deadline, "the redriven message was not delivered"
        time.sleep(0.5)
    evidence = visitor.get(f"/console/messages/{mid}/evidence")
    assert evidence.status_code == 200
    saved = tmp_path / "evidence.json"
    saved.write_text(evidence.text)
    anchor = tmp_path / "CN.anchor.json"
    exported = swnode("anchor", "export", "--dir", str(net.dir("CN")), "--out", str(anchor))
    assert exported.returncode == 0, exported.stderr
    checked = swnode("verify-receipt", "--anchor", str(anchor), str(saved), "--json")
    assert checked.returncode == 0, checked.stderr
    verdict = json.loads(checked.stdout)
    assert verdict["ok"] and verdict["delivered"] and verdict["message_id"] == mid
    charts = visitor.get("/console/charts").text
    sent_chart = charts.split('id="sent"')[1].split("</figure>")[0]
    today = time.strftime("%m-%d", time.gmtime())
    shown = re.search(rf'<th scope="row">{today}</th><td>(\d+)</td>', sent_chart)
    assert shown and int(shown[1]) >= 1, "today's sent messages are not in the chart"
    assert sent_chart.count("<rect") == 14
    done = [a for a in actions_of(visitor, who.user) if a[1].endswith(mid) or mid in a[1]]
    assert ("messages.search", f"message_id={mid} status=dead", "ok") in done
    assert ("message.view", mid, "ok") in done
    assert ("message.redrive", mid, "ok") in done
    assert ("message.evidence", mid, "ok") in done


def test_revocation_at_the_central_asks_to_confirm_and_is_audited(net: Network) -> None:
    """Near the end of this module: CN-SH is revoked."""
    who = add_operator(net.dir("CN"))
    visitor = OperatorVisitor(net, "CN")
    try:
        visitor.enrol(who)
        unconfirmed = visitor.post(
            "/console/revocation", {"id": "CN-SH", "confirm": "CN-GD", "reason": "test"}
        )
        assert unconfirmed.status_code == 400 and 'id="confirm-error"' in unconfirmed.text
        revoked = visitor.post(
            "/console/revocation", {"id": "CN-SH", "confirm": "CN-SH", "reason": "test"}
        )
        assert revoked.status_code == 200 and 'id="revoked"' in revoked.text
        deadline = time.monotonic() + 20
        while not any(p["id"] == "CN-SH" and p["revoked"] for p in net.status("CN-GD")["peers"]):
            assert time.monotonic() < deadline, "CN-GD does not know CN-SH is revoked"
            time.sleep(0.3)
        out = visitor.post("/console/logout", {}, token_from="/console")
        assert out.status_code == 303 and visitor.get("/console").status_code == 303
    finally:
        visitor.close()
    reader = add_operator(net.dir("CN"))
    again = OperatorVisitor(net, "CN")
    try:
        again.enrol(reader)
        log = [(r["operator"], r["action"], r["object"], r["outcome"]) for r in audit_export(again)]
        assert (who.user, "node.revoke", "CN-SH", "refused") in log
        assert (who.user, "node.revoke", "CN-SH", "ok") in log
        assert (who.user, "logout", who.user, "ok") in log
    finally:
        again.close()


def test_failed_logins_lock_the_operator(net: Network) -> None:
    """Last in this module: it restarts CN-GD with a short lock."""
    config = net.config("CN-GD")
    net.stop("CN-GD")
    write_config(replace(config, lockout_after=3, lockout_delay_step_s=0.05))
    net.start("CN-GD")
    net.wait_healthy(["CN-GD"])
    who = add_operator(net.dir("CN-GD"))
    visitor = OperatorVisitor(net, "CN-GD")
    try:
        for _ in range(3):
            assert visitor.sign_in(who, code="000000").status_code == 400
        locked = visitor.sign_in(who)
        assert locked.status_code == 400 and "login.locked" in locked.text
        assert visitor.get("/console").status_code == 303
    finally:
        visitor.close()
