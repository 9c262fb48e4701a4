"""Credentials are encrypted at rest, never shown back, and the key can be rotated."""

from __future__ import annotations

from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connections
from django.test import override_settings

from listening import crypto
from listening.actions import account_credentials
from listening.models import ConnectedAccount
from social_crm.tenancy.scope import tenant_context

from .conftest import login


def stored_bytes(tenant_id, pk) -> bytes:
    with tenant_context(tenant_id), connections["default"].cursor() as cur:
        cur.execute("SELECT credentials FROM listening_connectedaccount WHERE id = %s", [pk])
        return bytes(cur.fetchone()[0])


def test_credentials_are_encrypted_in_the_database(world):
    raw = stored_bytes(world.a.tenant.pk, world.a.account.pk)
    assert b"secret-acme" not in raw and raw.startswith(b"gAAAA")  # a Fernet token
    with tenant_context(world.a.tenant.pk):
        assert account_credentials(ConnectedAccount.objects.get(pk=world.a.account.pk)) == {"bearer_token": "secret-acme"}


def test_the_api_and_the_pages_never_show_credentials(client, world):
    login(client, "admin@example.com")
    api = client.get(f"/api/v1/t/acme/accounts/{world.a.account.pk}/")
    assert api.status_code == 200 and "credentials" not in api.json()
    page = client.get(f"/t/acme/listening/channels/{world.a.account.pk}/")
    assert page.status_code == 200 and b"secret-acme" not in page.content


def test_rotating_the_key_re_encrypts_every_account(world):
    new = Fernet.generate_key().decode()
    from django.conf import settings

    before = stored_bytes(world.a.tenant.pk, world.a.account.pk)
    with override_settings(CREDENTIALS_KEYS=[new, *settings.CREDENTIALS_KEYS]):
        call_command("rotate_credentials")
        after = stored_bytes(world.a.tenant.pk, world.a.account.pk)
        assert after != before
        # Readable with the new key alone: the old one can now be removed.
        with override_settings(CREDENTIALS_KEYS=[new]):
            assert crypto.decrypt(after) == {"bearer_token": "secret-acme"}
            assert crypto.decrypt(stored_bytes(world.b.tenant.pk, world.b.account.pk)) == {"bearer_token": "secret-globex"}
