"""Re-encrypt every connected account's credentials with the first key of CREDENTIALS_KEYS.

Rotation: put the new key first in CREDENTIALS_KEYS (keep the old one after it), restart,
run this command, then remove the old key. Idempotent: a second run re-encrypts with the same
key and changes nothing that matters.
"""

from django.core.management.base import BaseCommand

from listening import crypto
from listening.models import ConnectedAccount
from social_crm.tenancy.scope import dangerously_cross_tenant


class Command(BaseCommand):
    help = "Re-encrypt connected accounts' credentials with the current (first) key."

    def handle(self, *args, **opts):
        count = 0
        with dangerously_cross_tenant("operator command: rotate credentials encryption key"):
            for account in ConnectedAccount.objects.exclude(credentials=b"").only("pk", "credentials").iterator():
                ConnectedAccount.objects.filter(pk=account.pk).update(credentials=crypto.rotate(account.credentials))
                count += 1
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted the credentials of {count} account(s)."))
