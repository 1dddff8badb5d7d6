"""A party's users (identity/users.py), the way its administrators would break it: the only
administrator disabling itself, and a disabled user that must be able to come back."""

from __future__ import annotations

import pytest

from core.errors import FailedPrecondition, PermissionDenied, SwnodeError
from swf.v1 import identity_pb2 as ipb
from tests.identity.world import USCC, World, login, request

BOB_PASSWORD = "another horse battery"


async def test_the_last_administrator_cannot_disable_itself(world: World) -> None:
    gd = world.nodes["CN-GD"]
    await gd.registrations.register_enterprise(request(), "10.0.0.9")
    alice = gd.verify((await gd.sessions.login(login(), "10.0.0.1")).access_token)
    with pytest.raises(FailedPrecondition) as info:
        await gd.users.disable_user(alice, ipb.DisableUserRequest(user="alice"))
    assert (info.value.reason, info.value.field) == ("user.last_admin", "user")
    assert (await gd.sessions.login(login(), "10.0.0.1")).access_token != ""
    # With a second administrator, either may go, but not both.
    await gd.users.add_user(
        alice, ipb.AddUserRequest(user="bob", password=BOB_PASSWORD, roles=["admin"])
    )
    assert (await gd.users.disable_user(alice, ipb.DisableUserRequest(user="alice"))).disabled
    bob_login = ipb.LoginRequest(party=USCC, user="bob", password=BOB_PASSWORD)
    bob = gd.verify((await gd.sessions.login(bob_login, "10.0.0.1")).access_token)
    with pytest.raises(FailedPrecondition):
        await gd.users.disable_user(bob, ipb.DisableUserRequest(user="bob"))
    listed = await gd.users.list_users(bob)
    assert {u.user: u.disabled for u in listed.users} == {"alice": True, "bob": False}


async def test_a_disabled_user_enabled_again_logs_in_again(world: World) -> None:
    gd = world.nodes["CN-GD"]
    await gd.registrations.register_enterprise(request(), "10.0.0.9")
    alice = gd.verify((await gd.sessions.login(login(), "10.0.0.1")).access_token)
    await gd.users.add_user(
        alice, ipb.AddUserRequest(user="bob", password=BOB_PASSWORD, roles=["declarant"])
    )
    bob_login = ipb.LoginRequest(party=USCC, user="bob", password=BOB_PASSWORD)
    before = (await gd.sessions.login(bob_login, "10.0.0.1")).access_token
    await gd.users.disable_user(alice, ipb.DisableUserRequest(user="bob"))
    with pytest.raises(PermissionDenied) as info:
        await gd.sessions.login(bob_login, "10.0.0.1")
    assert info.value.reason == "login.disabled"
    world.clock.now_ms += 1000
    enabled = await gd.users.enable_user(alice, ipb.EnableUserRequest(user="bob"))
    assert not enabled.disabled and list(enabled.roles) == ["declarant"]
    after = (await gd.sessions.login(bob_login, "10.0.0.1")).access_token
    assert gd.verify(after).user == "bob"
    with pytest.raises(SwnodeError) as refused:
        gd.verify(before)
    assert refused.value.reason == "token.revoked"
    # Only an administrator may, and only for a user that exists.
    bob = gd.verify(after)
    with pytest.raises(SwnodeError):
        await gd.users.enable_user(bob, ipb.EnableUserRequest(user="bob"))
    with pytest.raises(SwnodeError) as unknown:
        await gd.users.enable_user(alice, ipb.EnableUserRequest(user="nobody"))
    assert unknown.value.reason == "user.unknown"
