"""`swnode client`: the client API from the command line, for people and scripts.

    swnode client [--devnet D --at ID | --node HOST:PORT --ca FILE] COMMAND ...

With --devnet the endpoint and the federation CA come from the test network's folder; otherwise
give the node's client port and the CA certificate (PEM) of its federation. Passwords are read
from standard input (--password-stdin), never from the command line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message

from core.errors import InvalidArgument
from core.grpc_status import from_rpc_error
from node.config import load_config
from swf.v1 import identity_pb2 as ipb
from swf.v1 import identity_pb2_grpc as igrpc


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
    q = users.add_parser("list", help="list the users")
    q.add_argument("--token", required=True)
    q.add_argument("--json", action="store_true")


def channel(args: argparse.Namespace) -> grpc.Channel:
    if args.devnet:
        if not args.at:
            raise InvalidArgument("client.where", "--at: which node of the devnet", field="at")
        node_dir = args.devnet / args.at
        endpoint = load_config(node_dir).client_endpoint
        ca = (node_dir / "keys" / "ca.crt").read_bytes()
    elif args.node and args.ca:
        endpoint = args.node
        ca = args.ca.read_bytes()
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


def _bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


def _print(message: Message, as_json: bool, text: Callable[[Any], str]) -> None:
    if as_json:
        print(
            json.dumps(
                json_format.MessageToDict(message, preserving_proto_field_name=True), indent=2
            )
        )
    else:
        print(text(message))


def main(args: argparse.Namespace) -> int:
    with channel(args) as ch:
        stub = igrpc.IdentityStub(ch)
        try:
            return _run(args, stub)
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from exc


STATUS = {v: k for k, v in ipb.RegistrationStatus.items()}


def _registration(r: ipb.Registration) -> str:
    status = STATUS[r.status].removeprefix("REGISTRATION_STATUS_").lower()
    return f"{r.uscc} {r.name}: {status} (home {r.home_node})" + (
        f" — {r.reason}" if r.reason else ""
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
        _print(reg, args.json, _registration)
    elif cmd == "registration":
        _print(
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
        _print(tokens, args.json, lambda t: t.access_token)
    elif cmd == "refresh":
        tokens = stub.Refresh(ipb.RefreshRequest(refresh_token=args.refresh_token), timeout=10)
        _print(tokens, args.json, lambda t: t.access_token)
    elif cmd == "whoami":
        who = stub.WhoAmI(ipb.WhoAmIRequest(), metadata=_bearer(args.token), timeout=10)
        _print(
            who,
            args.json,
            lambda p: (
                f"{p.subject} ({p.party_kind}, home {p.home_node}), roles "
                f"{', '.join(p.roles) or '-'}; checked by {p.verified_by}"
            ),
        )
    elif cmd == "logout":
        done = stub.Logout(ipb.LogoutRequest(), metadata=_bearer(args.token), timeout=10)
        _print(
            done,
            args.json,
            lambda d: f"logged out; refused everywhere within {d.revoked_everywhere_within}",
        )
    elif cmd == "lookup":
        profile = stub.LookupEnterprise(ipb.LookupEnterpriseRequest(uscc=args.uscc), timeout=10)
        _print(
            profile,
            args.json,
            lambda p: f"{p.uscc} {p.name}: home {p.home_node}, roles {', '.join(p.roles)}",
        )
    elif cmd == "user":
        meta = _bearer(args.token)
        if args.user_command == "add":
            u = stub.AddUser(
                ipb.AddUserRequest(user=args.user, password=_password(), roles=_roles(args.roles)),
                metadata=meta,
                timeout=10,
            )
            _print(
                u,
                args.json,
                lambda u: f"added {u.party}/{u.user} ({', '.join(u.roles) or 'no roles'})",
            )
        elif args.user_command == "disable":
            u = stub.DisableUser(ipb.DisableUserRequest(user=args.user), metadata=meta, timeout=10)
            _print(u, args.json, lambda u: f"disabled {u.party}/{u.user}")
        else:
            listed = stub.ListUsers(ipb.ListUsersRequest(), metadata=meta, timeout=10)
            _print(
                listed,
                args.json,
                lambda r: "\n".join(
                    f"{u.user:<20} {'disabled' if u.disabled else 'active':<9} {', '.join(u.roles)}"
                    for u in r.users
                ),
            )
    return 0
