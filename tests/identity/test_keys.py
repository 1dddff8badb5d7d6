"""Key files: one per purpose, private ones mode 0600, refused when others can read them."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.signing import raw_public
from identity.keys import generate_node_keys, load_node_keys, paths


def test_keys_are_separate_per_purpose_and_private(tmp_path: Path) -> None:
    generate_node_keys(tmp_path, central=True)
    p = paths(tmp_path)
    for name in ("tls.key", "signing.key", "token.key", "ca.key", "directory.key"):
        assert stat.S_IMODE(p[name].stat().st_mode) == 0o600, name
    keys = load_node_keys(tmp_path)
    assert keys.directory_key is not None and keys.ca_key is not None
    publics = {raw_public(k) for k in (keys.signing_key, keys.token_key, keys.directory_key)}
    assert len(publics) == 3
    assert keys.directory_public == raw_public(keys.directory_key)
    assert not keys.enrolled


def test_a_province_holds_no_ca_or_directory_key(tmp_path: Path) -> None:
    generate_node_keys(tmp_path, central=False)
    keys = load_node_keys(tmp_path)
    assert keys.ca_key is None and keys.directory_key is None
    assert keys.directory_public is None


def test_a_private_key_others_can_read_is_refused(tmp_path: Path) -> None:
    generate_node_keys(tmp_path, central=False)
    key = paths(tmp_path)["signing.key"]
    key.chmod(0o644)
    with pytest.raises(ConfigError) as refused:
        load_node_keys(tmp_path)
    assert str(key) in refused.value.message
    assert f"chmod 600 {key}" in refused.value.message


def test_keys_are_never_overwritten(tmp_path: Path) -> None:
    generate_node_keys(tmp_path, central=False)
    with pytest.raises(FileExistsError):
        generate_node_keys(tmp_path, central=False)


def test_a_missing_key_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load_node_keys(tmp_path)
    assert "swnode init" in refused.value.message
