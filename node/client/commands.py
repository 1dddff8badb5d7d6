"""`swnode client`: the client API from the command line, for people and scripts.

    swnode client [--devnet D --at ID | --node HOST:PORT --ca FILE] COMMAND ...

With --devnet the endpoint and the federation CA come from the test network's folder; otherwise
give the node's client port and the CA certificate (PEM) of its federation. Passwords are read
from standard input (--password-stdin), never from the command line.
"""

from __future__ import annotations

import argparse
import math
import sys
from datetime import UTC, datetime
from pathlib import Path

import grpc

from core.documents import parse_value, wrap
from core.errors import InvalidArgument
from core.grpc_status import VALIDATION_KEY, from_rpc_error
from node.client import certificates as client_certificates
from node.client import logistics as client_logistics
from node.client.common import bearer, print_message, read_file_bytes, read_json_file
from node.config import load_config
from services.declaration_records import decision_note
from services.statistics import BUCKETS_S
from swf.v1 import declarations_pb2 as dpb
from swf.v1 import declarations_pb2_grpc as dgrpc
from swf.v1 import identity_pb2 as ipb
from swf.v1 import identity_pb2_grpc as igrpc

__all__ = ["DECISIONS", "DOCUMENT_COMMANDS", "STATUS", "add_arguments", "channel", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_argument_group("which node")
    where.add_argument("--devnet", type=Path, help="a test network folder (swnode devnet up)")
    where.add_argument("--at", help="with --devnet: the node id, e.g. CN-GD")
    where.add_argument("--node", help="HOST:PORT of a node's client port")
    where.add_argument("--ca", type=Path, help="with --node: the federation CA certificate (PEM)")
    sub = parser.add_subparsers(dest="client_command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("--json", action="store_true", help="print the answer as JSON")
        return p

    p = command("register", "register an enterprise at its home node, with its first admin")
    p.add_argument("--uscc", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--user", required=True, help="the first administrator's user name")
    p.add_argument("--password-stdin", action="store_true", required=True)
    p.add_argument(
        "--roles",
        default="declarant",
        help="comma-separated: declarant, customs_broker, carrier, forwarder, exporter, importer",
    )
    p.add_argument("--address", default="")
    p.add_argument("--contact-name", default="")
    p.add_argument("--contact-email", default="")
    p.add_argument("--contact-phone", default="")

    p = command("registration", "where an enterprise's registration stands, at its home node")
    p.add_argument("--uscc", required=True)

    p = command("login", "log in (at any node of the federation); prints the tokens")
    p.add_argument("--user", required=True, help="PARTY/USER, e.g. 91440300MA5G1234XY/alice")
    p.add_argument("--party", help="the party, if --user is the bare user name")
    p.add_argument("--password-stdin", action="store_true", required=True)

    p = command("refresh", "new tokens for a session (at the home node)")
    p.add_argument("--refresh-token", required=True)

    p = command("whoami", "who the token says you are, as this node sees it")
    p.add_argument("--token", required=True)

    p = command("logout", "end the session everywhere")
    p.add_argument("--token", required=True)

    p = command("lookup", "an enterprise's public profile from the national registry")
    p.add_argument("--uscc", required=True)

    p = command("submit", "submit a document once; prints its declaration id, or every error")
    p.add_argument("--type", required=True, help="document type, e.g. goods_declaration")
    p.add_argument("--file", type=Path, required=True, help="the document as JSON (examples/)")
    p.add_argument("--token", required=True)

    p = command("validate", "check a document without submitting it")
    p.add_argument("--type", required=True)
    p.add_argument("--file", type=Path, required=True)
    p.add_argument("--token", required=True)

    p = command("amend", "answer a request for information with a corrected document")
    p.add_argument("--id", required=True)
    p.add_argument("--type", required=True)
    p.add_argument("--file", type=Path, required=True)
    p.add_argument("--token", required=True)

    p = command("track", "a declaration's status and history; --watch follows it live")
    p.add_argument("--id", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--watch", action="store_true")

    p = command("list", "your party's declarations, newest first")
    p.add_argument("--token", required=True)
    p.add_argument("--status", default="")
    p.add_argument("--type", default="")
    p.add_argument("--from-date", default="")
    p.add_argument("--to-date", default="")
    p.add_argument("--limit", type=int, default=50, help="declarations per page (at most 500)")
    p.add_argument("--page-token", default="", help="the next page, as the previous one printed")

    p = command("stats", "counts and clearance times (at a central: --federation)")
    p.add_argument("--token", required=True)
    p.add_argument("--federation", action="store_true")
    p.add_argument("--from-date", default="")
    p.add_argument("--to-date", default="")

    p = sub.add_parser("agency", help="an agency's work: inbox, claim, decide")
    agency = p.add_subparsers(dest="agency_command", required=True, metavar="ACTION")
    q = agency.add_parser("inbox", help="work items (open by default)")
    q.add_argument("--token", required=True)
    q.add_argument("--status", default="open", choices=["open", "claimed", "decided", "all"])
    q.add_argument("--watch", action="store_true", help="keep listening for new work")
    q.add_argument("--json", action="store_true")
    q = agency.add_parser("claim", help="take a work item")
    q.add_argument("--token", required=True)
    q.add_argument("--work", required=True)
    q.add_argument("--json", action="store_true")
    q = agency.add_parser("decide", help="decide a work item")
    q.add_argument("--token", required=True)
    q.add_argument("--work", required=True)
    q.add_argument(
        "--decision",
        required=True,
        choices=["accept", "reject", "request_information", "require_inspection", "release"],
    )
    q.add_argument("--reason", default="")
    q.add_argument("--note", default="")
    q.add_argument("--json", action="store_true")

    client_certificates.add_subcommands(sub)
    client_logistics.add_subcommands(sub)

    p = sub.add_parser("user", help="users of your party (administrators, at the home node)")
    users = p.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    q = users.add_parser("add", help="add a user")
    q.add_argument("--token", required=True)
    q.add_argument("--user", required=True)
    q.add_argument("--roles", default="", help="comma-separated: admin and/or the party's roles")
    q.add_argument("--password-stdin", action="store_true", required=True)
    q.add_argument("--json", action="store_true")
    q = users.add_parser("disable", help="disable a user; its tokens stop working everywhere")
    q.add_argument("--token", required=True)
    q.add_argument("--user", required=True)
    q.add_argument("--json", action="store_true")
    q = users.add_parser("enable", help="enable a disabled user; it may log in again")
    q.add_argument("--token", required=True)
    q.add_argument("--user", required=True)
    q.add_argument("--json", action="store_true")
    q = users.add_parser("list", help="list the users")
    q.add_argument("--token", required=True)
    q.add_argument("--json", action="store_true")


def channel(args: argparse.Namespace) -> grpc.Channel:
    if args.devnet:
        if not args.at:
            raise InvalidArgument("client.where", "--at: which node of the devnet", field="at")
        node_dir = args.devnet / args.at
        endpoint = load_config(node_dir).client_endpoint
        ca = read_file_bytes(node_dir / "keys" / "ca.crt")
    elif args.node and args.ca:
        endpoint = args.node
        ca = read_file_bytes(args.ca)
    else:
        raise InvalidArgument(
            "client.where",
            "say which node: --devnet DIR --at ID, or --node HOST:PORT --ca FILE",
            field="node",
        )
    return grpc.secure_channel(endpoint, grpc.ssl_channel_credentials(ca))


def _password() -> str:
    value = sys.stdin.readline().rstrip("\n")
    if not value:
        raise InvalidArgument(
            "client.password", "password: expected on standard input", field="password"
        )
    return value


def _roles(text: str) -> list[str]:
    return [r.strip() for r in text.split(",") if r.strip()]


def main(args: argparse.Namespace) -> int:
    with channel(args) as ch:
        try:
            if args.client_command in DOCUMENT_COMMANDS:
                return _documents(args, ch)
            if args.client_command == "certificate":
                return client_certificates.run(args, ch)
            if args.client_command in client_logistics.COMMANDS:
                return client_logistics.run(args, ch)
            return _run(args, igrpc.IdentityStub(ch))
        except grpc.RpcError as exc:
            raise _refusal(exc) from exc


def _refusal(exc: grpc.RpcError) -> Exception:
    """The node's refusal; for an invalid document, every error on its own line."""
    error = from_rpc_error(exc)
    for key, value in getattr(exc, "trailing_metadata", lambda: ())() or ():
        if key == VALIDATION_KEY and isinstance(value, bytes):
            report = dpb.ValidationReport.FromString(value)
            error.message = f"{len(report.errors)} error(s) in the document:\n" + "\n".join(
                f"  {e.field}: {e.message} [{e.rule}]" for e in report.errors
            )
    return error


DOCUMENT_COMMANDS = {"submit", "validate", "amend", "track", "list", "stats", "agency"}
DECISIONS = {
    "accept": dpb.DECISION_ACCEPT,
    "reject": dpb.DECISION_REJECT,
    "request_information": dpb.DECISION_REQUEST_INFORMATION,
    "require_inspection": dpb.DECISION_REQUIRE_INSPECTION,
    "release": dpb.DECISION_RELEASE,
}


def _document(args: argparse.Namespace) -> dpb.Document:
    return wrap(parse_value(args.type, read_json_file(args.file)))


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _event_line(e: dpb.DeclarationEvent) -> str:
    move = (
        f"{e.from_status or '-'} -> {e.to_status}" if e.from_status != e.to_status else e.to_status
    )
    who = e.actor + (f" ({e.agency})" if e.agency and e.agency not in e.actor else "")
    return f"{_when(e.at_unix_ms)}  {e.transition:<22} {move:<36} {who}" + (
        f"  {e.note}" if e.note else ""
    )


def _declaration_text(d: dpb.Declaration) -> str:
    lines = [f"{d.id}  {d.document_type}  {d.status}  (node {d.node}, party {d.party})"]
    if d.HasField("assessment"):
        a = d.assessment
        lines.append(
            f"assessment: value {a.customs_value} duty {a.duty} vat {a.vat} total {a.total} "
            f"{a.currency}"
            + ("  PAYMENT DUE" if a.payment_due and d.status == "awaiting_payment" else "")
        )
    lines.extend(
        f"  {r.agency:<12} round {r.round}: {r.status}"
        + (f" by {r.decided_by}" if r.decided_by else "")
        + (f" — {decision_note(r.reason, r.note)}" if r.reason or r.note else "")
        for r in d.reviews
    )
    lines += [_event_line(e) for e in d.history]
    return "\n".join(lines)


def _work_text(w: dpb.WorkItem) -> str:
    return (
        f"{w.id}  {w.document_type:<34} decl {w.declaration_id}  {w.status:<8} "
        f"{w.decision:<17} party {w.party} round {w.round}"
    )


def _documents(args: argparse.Namespace, ch: grpc.Channel) -> int:
    cmd = args.client_command
    meta = bearer(args.token)
    decl = dgrpc.DeclarationsStub(ch)
    if cmd == "submit":
        d = decl.Submit(dpb.SubmitRequest(document=_document(args)), metadata=meta, timeout=30)
        print_message(d, args.json, lambda d: d.id)
    elif cmd == "validate":
        report = decl.Validate(
            dpb.SubmitRequest(document=_document(args)), metadata=meta, timeout=30
        )
        print_message(
            report,
            args.json,
            lambda r: "\n".join(f"{e.field}: {e.message} [{e.rule}]" for e in r.errors) or "valid",
        )
        return 2 if report.errors else 0
    elif cmd == "amend":
        d = decl.Amend(
            dpb.AmendRequest(declaration_id=args.id, document=_document(args)),
            metadata=meta,
            timeout=30,
        )
        print_message(d, args.json, _declaration_text)
    elif cmd == "track":
        if args.watch:
            for event in decl.WatchDeclaration(
                dpb.WatchDeclarationRequest(id=args.id), metadata=meta
            ):
                print_message(event, args.json, _event_line)
                sys.stdout.flush()
        else:
            d = decl.GetDeclaration(
                dpb.GetDeclarationRequest(id=args.id), metadata=meta, timeout=10
            )
            print_message(d, args.json, _declaration_text)
    elif cmd == "list":
        listed = decl.ListDeclarations(
            dpb.ListDeclarationsRequest(
                status=args.status,
                document_type=args.type,
                from_date=args.from_date,
                to_date=args.to_date,
                page_size=args.limit,
                page_token=args.page_token,
            ),
            metadata=meta,
            timeout=10,
        )
        print_message(listed, args.json, _list_text)
    elif cmd == "stats":
        stats = decl.GetStatistics(
            dpb.StatisticsRequest(
                federation=args.federation, from_date=args.from_date, to_date=args.to_date
            ),
            metadata=meta,
            timeout=30,
        )
        print_message(stats, args.json, _stats_text)
    else:
        work = dgrpc.AgencyWorkStub(ch)
        if args.agency_command == "inbox":
            if args.watch:
                for item in work.WatchWork(dpb.WatchWorkRequest(), metadata=meta):
                    print_message(item, args.json, _work_text)
                    sys.stdout.flush()
            else:
                items = work.ListWork(
                    dpb.ListWorkRequest(status=args.status), metadata=meta, timeout=10
                )
                print_message(items, args.json, lambda r: "\n".join(_work_text(w) for w in r.items))
        elif args.agency_command == "claim":
            print_message(
                work.Claim(dpb.ClaimRequest(work_id=args.work), metadata=meta, timeout=10),
                args.json,
                _work_text,
            )
        else:
            item = work.Decide(
                dpb.DecideRequest(
                    work_id=args.work,
                    decision=DECISIONS[args.decision],
                    reason=args.reason,
                    note=args.note,
                ),
                metadata=meta,
                timeout=10,
            )
            print_message(item, args.json, _work_text)
    return 0


def _list_text(r: dpb.ListDeclarationsResponse) -> str:
    lines = [
        f"{d.id}  {_when(d.created_at_unix_ms)}  {d.document_type:<34} {d.status}"
        for d in r.declarations
    ]
    if r.next_page_token:
        lines.append(f"next page: --page-token {r.next_page_token}")
    return "\n".join(lines)


def _at_most(seconds: float) -> str:
    """A percentile as the bucket bound it is: "<=36h", or ">90d" past the last bound."""
    if math.isinf(seconds):
        return ">" + _duration(BUCKETS_S[-2])
    return "<=" + _duration(seconds)


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _stats_text(s: dpb.Statistics) -> str:
    lines = [
        f"nodes: {', '.join(s.nodes)}"
        + (f"  (not answering: {', '.join(s.missing)})" if s.missing else "")
    ]
    totals: dict[tuple[str, str], int] = {}
    for c in s.counts:
        totals[(c.document_type, c.status)] = totals.get((c.document_type, c.status), 0) + c.count
    for (t, st), n in sorted(totals.items()):
        lines.append(f"  {t:<34} {st:<18} {n}")
    lines.extend(
        f"  clearance {c.document_type:<24} n={c.count} "
        f"p50{_at_most(c.p50_s)} p90{_at_most(c.p90_s)} p99{_at_most(c.p99_s)}"
        for c in s.clearance
    )
    return "\n".join(lines)


STATUS = {v: k for k, v in ipb.RegistrationStatus.items()}


def _registration(r: ipb.Registration) -> str:
    status = STATUS[r.status].removeprefix("REGISTRATION_STATUS_").lower()
    return f"{r.uscc} {r.name}: {status} (home {r.home_node})" + (
        f" — {r.reason}" if r.reason else ""
    )


def _tokens_text(t: ipb.Tokens) -> str:
    """Both tokens, one labelled line each: the refresh token is the only way to a new access
    token without the password (`sed -n 's/^access_token: //p'` picks the access token)."""
    return (
        f"access_token: {t.access_token}\n"
        f"refresh_token: {t.refresh_token}\n"
        f"expires_in_s: {t.expires_in_s}\n"
        f"subject: {t.subject}"
    )


def _run(args: argparse.Namespace, stub: igrpc.IdentityStub) -> int:
    cmd = args.client_command
    if cmd == "register":
        reg = stub.RegisterEnterprise(
            ipb.RegisterEnterpriseRequest(
                uscc=args.uscc,
                name=args.name,
                address=args.address,
                contact=ipb.Contact(
                    name=args.contact_name, email=args.contact_email, phone=args.contact_phone
                ),
                roles=_roles(args.roles),
                admin_user=args.user,
                admin_password=_password(),
            ),
            timeout=30,
        )
        print_message(reg, args.json, _registration)
    elif cmd == "registration":
        print_message(
            stub.GetRegistration(ipb.GetRegistrationRequest(uscc=args.uscc), timeout=10),
            args.json,
            _registration,
        )
    elif cmd == "login":
        party, _, user = args.user.rpartition("/")
        party = args.party or party
        if not party:
            raise InvalidArgument(
                "client.user", "--user: PARTY/USER, or give --party", field="user"
            )
        tokens = stub.Login(
            ipb.LoginRequest(party=party, user=user, password=_password()), timeout=30
        )
        print_message(tokens, args.json, _tokens_text)
    elif cmd == "refresh":
        tokens = stub.Refresh(ipb.RefreshRequest(refresh_token=args.refresh_token), timeout=10)
        print_message(tokens, args.json, _tokens_text)
    elif cmd == "whoami":
        who = stub.WhoAmI(ipb.WhoAmIRequest(), metadata=bearer(args.token), timeout=10)
        print_message(
            who,
            args.json,
            lambda p: (
                f"{p.subject} ({p.party_kind}, home {p.home_node}), roles "
                f"{', '.join(p.roles) or '-'}; checked by {p.verified_by}"
            ),
        )
    elif cmd == "logout":
        done = stub.Logout(ipb.LogoutRequest(), metadata=bearer(args.token), timeout=10)
        print_message(
            done,
            args.json,
            lambda d: f"logged out; refused everywhere within {d.revoked_everywhere_within}",
        )
    elif cmd == "lookup":
        profile = stub.LookupEnterprise(ipb.LookupEnterpriseRequest(uscc=args.uscc), timeout=10)
        print_message(
            profile,
            args.json,
            lambda p: f"{p.uscc} {p.name}: home {p.home_node}, roles {', '.join(p.roles)}",
        )
    elif cmd == "user":
        meta = bearer(args.token)
        if args.user_command == "add":
            u = stub.AddUser(
                ipb.AddUserRequest(user=args.user, password=_password(), roles=_roles(args.roles)),
                metadata=meta,
                timeout=10,
            )
            print_message(
                u,
                args.json,
                lambda u: f"added {u.party}/{u.user} ({', '.join(u.roles) or 'no roles'})",
            )
        elif args.user_command == "disable":
            u = stub.DisableUser(ipb.DisableUserRequest(user=args.user), metadata=meta, timeout=10)
            print_message(u, args.json, lambda u: f"disabled {u.party}/{u.user}")
        elif args.user_command == "enable":
            u = stub.EnableUser(ipb.EnableUserRequest(user=args.user), metadata=meta, timeout=10)
            print_message(u, args.json, lambda u: f"enabled {u.party}/{u.user}")
        else:
            listed = stub.ListUsers(ipb.ListUsersRequest(), metadata=meta, timeout=10)
            print_message(
                listed,
                args.json,
                lambda r: "\n".join(
                    f"{u.user:<20} {'disabled' if u.disabled else 'active':<9} {', '.join(u.roles)}"
                    for u in r.users
                ),
            )
    return 0
