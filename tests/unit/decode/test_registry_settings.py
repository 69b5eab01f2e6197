"""SchemaRegistry settings: credentials are used, never shown."""

from __future__ import annotations

from connector.decode import RegistrySettings, SchemaRegistry


def test_url_credentials_are_stripped_from_the_base_url():
    """user:password@ in the URL becomes basic auth, not part of the URL shown in errors."""
    registry = SchemaRegistry(
        RegistrySettings("http://sr-user:sr-pass@127.0.0.1:8081/apis/ccompat/v7/")
    )
    assert registry.base_url == "http://127.0.0.1:8081/apis/ccompat/v7"


def test_settings_repr_hides_user_info():
    """The basic-auth user info is not in the settings' repr."""
    assert "s3cret" not in repr(RegistrySettings("http://127.0.0.1:1", user_info="u:s3cret"))
