"""Which notices are news (PROTOCOL.md §2.10): only a version above the one held of the named
federation makes a node poll; an old or equal one, or a repeated one, does nothing."""

from __future__ import annotations

from core.trust import TrustView
from federation.directory_notices import notice_is_news
from swf.v1 import peer_pb2
from tests.factories import Federation

CN, SG = Federation("CN", ["CN-GD"]), Federation("SG")


def held(own: int, sg: int | None) -> TrustView:
    foreign = {"SG": SG.directory(version=sg)} if sg is not None else {}
    return TrustView.build("CN-GD", CN.directory(version=own, trusts=[SG]), foreign)


def notice(federation: str, version: int) -> peer_pb2.DirectoryNotice:
    return peer_pb2.DirectoryNotice(federation=federation, version=version)


def test_a_higher_version_of_the_own_directory_is_news() -> None:
    assert notice_is_news(held(4, 2), notice("CN", 5))
    assert not notice_is_news(held(4, 2), notice("CN", 4))
    assert not notice_is_news(held(4, 2), notice("CN", 3))


def test_a_foreign_directory_is_news_above_the_version_held_or_when_none_is() -> None:
    assert notice_is_news(held(4, 2), notice("SG", 3))
    assert not notice_is_news(held(4, 2), notice("SG", 2))
    assert notice_is_news(held(4, None), notice("SG", 1))
