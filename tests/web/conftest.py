"""The portal's tests use the identity world of tests/identity/ for its sessions on their own."""

from tests.identity.conftest import federation, settings, world

__all__ = ["federation", "settings", "world"]
