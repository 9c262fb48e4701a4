"""Idempotent demo data: a demo tenant with its departments and one user per role, plus a
second tenant that the demo admin also belongs to (to show tenant switching).

Passwords are generated on the first run and kept in var/demo-logins.txt (not in the repo);
set SEED_DEMO_PASSWORD to choose one. Running it again changes nothing and prints the logins.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from social_crm.tenancy import actions
from social_crm.tenancy.models import Department, Tenant
from social_crm.tenancy.permissions import Role
from social_crm.tenancy.scope import tenant_context

User = get_user_model()

TENANTS = [
    ("demo", "Maison Aurore (démo)", "fr"),
    ("demo-sister", "Aurore Travel (demo)", "en"),
]
DEPARTMENTS = [
    ("customer-service", "Service client", "Réclamations, commandes, livraisons"),
    ("marketing", "Marketing", "Campagnes, influence, e-réputation"),
    ("legal", "Juridique", "Diffamation, données personnelles, litiges"),
    ("quality", "Qualité", "Défauts produits, rappels, sécurité"),
]
USERS = [
    ("admin@demo.local", "Alice Admin", Role.ADMIN, [], "fr"),
    ("cm@demo.local", "Camille Community", Role.COMMUNITY_MANAGER, [], "fr"),
    ("head@demo.local", "Hugo Head", Role.DEPARTMENT_HEAD, ["customer-service", "quality"], "fr"),
    ("marketer@demo.local", "Maya Marketer", Role.MARKETER, [], "en"),
]


# Real channels for the demo tenant when their credentials are in the environment:
# (platform, name, env vars -> credentials keys, external id / base URL env vars)
REAL_CHANNELS = [
    ("x", "X (from environment)", {"DEMO_X_BEARER_TOKEN": "bearer_token"}, "DEMO_X_USER_ID", ""),
    ("facebook", "Facebook Page (from environment)", {"DEMO_FACEBOOK_PAGE_TOKEN": "page_access_token"},
     "DEMO_FACEBOOK_PAGE_ID", ""),
    ("mastodon", "Mastodon (from environment)", {"DEMO_MASTODON_TOKEN": "access_token"}, "DEMO_MASTODON_ACCT",
     "DEMO_MASTODON_URL"),
    ("bluesky", "Bluesky (from environment)", {"DEMO_BLUESKY_HANDLE": "handle", "DEMO_BLUESKY_APP_PASSWORD": "app_password"},
     "", ""),
]

QUERIES = [
    ("Maison Aurore", "brand", '"Maison Aurore" OR #MaisonAurore OR @MaisonAurore OR aurore'),
    ("Bleu Comptoir", "competitor", '"Bleu Comptoir" OR #BleuComptoir OR @BleuComptoir'),
    ("Nordik Home", "competitor", '"Nordik Home" OR #NordikHome OR @NordikHome'),
    ("Livraison", "topic", "livraison OR colis OR delivery OR parcel OR livr*"),
    ("Rappel produit", "topic", "rappel OR défaut OR danger OR recall OR defect"),
]


class Command(BaseCommand):
    help = "Create (once) the demo tenants and one user per role, and print the logins."

    def handle(self, *args, **opts):
        credentials = Path(settings.BASE_DIR) / "var" / "demo-logins.txt"
        password = os.environ.get("SEED_DEMO_PASSWORD")
        if not password and credentials.exists():
            password = credentials.read_text().split("password: ", 1)[-1].strip()
        if not password:
            password = secrets.token_urlsafe(9)
        with transaction.atomic():
            tenants = {}
            for slug, name, language in TENANTS:
                tenant = Tenant.objects.filter(slug=slug).first() or actions.tenant_create(
                    name=name, slug=slug, default_language=language)
                tenants[slug] = tenant
            demo = tenants["demo"]
            with tenant_context(demo.pk):
                for slug, name, description in DEPARTMENTS:
                    if not Department.objects.filter(tenant_id=demo.pk, slug=slug).exists():
                        actions.department_save(demo.pk, actor=None, name=name, slug=slug, description=description)
            for email, full_name, role, department_slugs, language in USERS:
                user = User.objects.filter(email=email).first()
                if user is None:
                    user = User.objects.create_user(email, password, full_name=full_name, language=language)
                elif not user.check_password(password):
                    # The printed logins must work: the chosen (or remembered) password wins.
                    user.set_password(password)
                    user.save(update_fields=["password"])
                with tenant_context(demo.pk):
                    ids = list(Department.objects.filter(tenant_id=demo.pk, slug__in=department_slugs).values_list("pk", flat=True))
                    actions.membership_add(demo.pk, actor=None, user=user, role=role, department_ids=ids)
            admin = User.objects.get(email="admin@demo.local")
            actions.membership_add(tenants["demo-sister"].pk, actor=None, user=admin, role=Role.MARKETER)
            self._listening(demo)
            self._topics(demo)
            self._inbox(demo)
        self.stdout.write("Demo listening: 5 queries and a replay channel streaming the demo dataset (2 mentions/s).")
        self.stdout.write("Demo topics: the 5 starter topics, the demo brands, products and handles as entity terms.")
        self.stdout.write("Demo inbox: an SLA policy (business hours, Paris) and rules routing complaints to "
                          "Qualité and Service client.")
        credentials.parent.mkdir(parents=True, exist_ok=True)
        credentials.write_text(f"password: {password}\n")
        self.stdout.write(self.style.SUCCESS("Demo tenant ready at http://127.0.0.1:8000/t/demo/"))
        for email, _name, role, _deps, _lang in USERS:
            self.stdout.write(f"  {role.label:<20} {email:<22} password: {password}")
        self.stdout.write("  (admin@demo.local is also a marketer in the 'demo-sister' tenant.)")

    def _listening(self, demo) -> None:
        """Listening queries and a replay channel for the demo tenant (once)."""
        from listening import actions as listening_actions
        from listening.models import ConnectedAccount, ListeningQuery

        with tenant_context(demo.pk):
            for name, kind, expression in QUERIES:
                if not ListeningQuery.objects.filter(tenant_id=demo.pk, name=name).exists():
                    listening_actions.query_save(demo.pk, actor=None, name=name, kind=kind, expression=expression)
            # The brand's own accounts as they appear in the demo dataset (inactive: not polled),
            # so its replies are flagged "own" and can be left out of the inbox.
            for platform, name, external_id in (("x", "Maison Aurore on X", "1497481078100000042"),
                                                ("mastodon", "Maison Aurore on Mastodon", "MaisonAurore@mastodon.example")):
                if not ConnectedAccount.objects.filter(tenant_id=demo.pk, platform=platform, name=name).exists():
                    listening_actions.account_save(demo.pk, actor=None, platform=platform, name=name,
                                                   external_id=external_id, handle="MaisonAurore", is_own=True,
                                                   is_active=False)
            for platform, name, secrets_env, id_env, url_env in REAL_CHANNELS:
                credentials = {key: os.environ.get(var, "") for var, key in secrets_env.items()}
                if all(credentials.values()) and not ConnectedAccount.objects.filter(
                        tenant_id=demo.pk, platform=platform, name=name).exists():
                    listening_actions.account_save(
                        demo.pk, actor=None, platform=platform, name=name, credentials=credentials,
                        external_id=os.environ.get(id_env, "") if id_env else "",
                        base_url=os.environ.get(url_env, "") if url_env else "", is_own=True)
                    self.stdout.write(f"Connected {name}.")
            if not ConnectedAccount.objects.filter(tenant_id=demo.pk, platform="replay").exists():
                # The brand's own X account id in the demo dataset, so its replies are flagged "own".
                listening_actions.account_save(demo.pk, actor=None, platform="replay", name="Demo stream (replay)",
                                               external_id="", handle="MaisonAurore", credentials={"rate": 2.0},
                                               is_own=False)

    def _topics(self, demo) -> None:
        """The starter topics and the demo world's brands, products and handles (once): the
        names come from the generator of the demo stream, so the entity ruler finds them."""
        from listening.demo.generate import BLEU_COMPTOIR, MAISON_AURORE, NORDIK_HOME, entity_terms
        from listening.models import EntityTerm
        from listening.nlp import topic_actions

        topic_actions.install_starter_topics(demo.pk, actor=None, language=demo.default_language)
        terms = entity_terms(MAISON_AURORE, (BLEU_COMPTOIR, NORDIK_HOME))
        with tenant_context(demo.pk):
            existing = set(EntityTerm.objects.filter(tenant_id=demo.pk).values_list("kind", "name"))
            for kind, name, patterns in terms:
                if (kind, name) not in existing:
                    topic_actions.entity_term_save(demo.pk, actor=None, kind=kind, name=name, patterns=patterns)

    def _inbox(self, demo) -> None:
        """A default SLA policy and two routing rules (once): product-quality complaints go to
        Qualité with a high priority, other complaints to Service client."""
        from inbox.models import RoutingRule, SlaPolicy
        from inbox.routing_rules import rule_save
        from inbox.sla import sla_policy_save
        from listening.models import Topic

        with tenant_context(demo.pk):
            if not SlaPolicy.objects.filter(tenant_id=demo.pk).exists():
                weekdays = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
                sla_policy_save(demo.pk, actor=None, name="Standard", first_response_minutes=60,
                                resolution_minutes=8 * 60, time_zone="Europe/Paris",
                                business_hours={**weekdays, "sat": [], "sun": []}, is_default=True)
            if RoutingRule.objects.filter(tenant_id=demo.pk).exists():
                return
            departments = dict(Department.objects.filter(tenant_id=demo.pk).values_list("slug", "pk"))
            quality = Topic.objects.filter(tenant_id=demo.pk, name__in=["Qualité produit", "Product quality"]).first()
            negative = {"field": "sentiment", "op": "in", "value": ["negative"]}
            if quality is not None:
                rule_save(demo.pk, actor=None, name="Qualité produit → Qualité",
                          conditions=[negative, {"field": "topic", "op": "in", "value": [quality.pk]}],
                          actions=[{"type": "route", "department": departments["quality"]},
                                   {"type": "priority", "value": "high"}])
            rule_save(demo.pk, actor=None, name="Réclamations → Service client", conditions=[negative],
                      actions=[{"type": "route", "department": departments["customer-service"]}])
