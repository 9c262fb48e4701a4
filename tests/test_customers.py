"""Customers: link suggestion evidence and confidence, decisions, merge and its exact undo,
CSV import/export, the audit rows, the Celery task. Real PostgreSQL, row-level security on."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.exceptions import ValidationError

from listening.models import Author, Mention
from social_crm.customers import actions, csv_io, linking
from social_crm.customers.models import Customer, LinkSuggestion, SocialIdentity
from social_crm.customers.normalize import clean_phone, token_set_ratio
from social_crm.customers.tasks import customers_suggest
from social_crm.tenancy.models import AuditEvent
from social_crm.tenancy.scope import tenant_context

pytestmark = pytest.mark.django_db


def _author(tid, uid, handle="", name="", text="", profile_url=""):
    from django.utils import timezone

    with tenant_context(tid):
        author = Author.objects.create(tenant_id=tid, platform="mastodon", platform_user_id=uid, handle=handle,
                                       name=name, profile_url=profile_url)
        if text:
            Mention.objects.create(tenant_id=tid, platform="mastodon", external_id=f"m-{uid}", author=author, text=text,
                                   created_at=timezone.now())
    return author


def _audit(tid, action):
    with tenant_context(tid):
        return list(AuditEvent.objects.filter(tenant_id=tid, action=action))


def test_normal_forms_of_phones_and_names():
    assert clean_phone("06 12 34 56 78") == "+33612345678"
    assert clean_phone("0044 20 7946 0958") == "+442079460958"
    with pytest.raises(ValidationError):
        clean_phone("12")
    assert token_set_ratio("Zoë Lefèvre", "lefevre zoe") == 1.0
    assert token_set_ratio("Jean Dupont", "Jeanne Dupuis") < linking.NAME_MIN_SIMILARITY


def test_each_kind_of_evidence_is_found_and_stronger_evidence_ranks_first(world):
    tid = world.a.tenant.pk
    by_email = actions.customer_save(tid, actor=None, name="Paul Leroy", emails=["paul.leroy@example.fr"])
    by_phone = actions.customer_save(tid, actor=None, name="Pauline Roy", phones=["+33 6 99 88 77 66"])
    by_name = actions.customer_save(tid, actor=None, name="Paul Léroy")
    by_url = actions.customer_save(tid, actor=None, name="P. L.", handles=["https://mastodon.social/@pleroy"])
    author = _author(tid, "pl-1", handle="pleroy", name="Paul Leroy", profile_url="https://mastodon.social/@pleroy",
                     text="Écrivez-moi : Paul.Leroy@example.fr ou au 06 99 88 77 66")
    identity = linking.identity_for_author(tid, author.pk)
    suggestions = linking.suggest_links(tid, identity.pk)
    kinds = {s.customer_id: {e["kind"] for e in s.evidence} for s in suggestions}
    assert kinds[by_email.pk] >= {"email"}
    assert kinds[by_phone.pk] == {"phone"}
    assert kinds[by_url.pk] == {"profile_url"}
    assert "name" in kinds[by_name.pk]
    confidence = {s.customer_id: s.confidence for s in suggestions}
    # e-mail + name (noisy-OR 1 - 0.2 x 0.55) beats a phone alone, which beats a name alone.
    assert confidence[by_email.pk] == pytest.approx(0.89)
    assert confidence[by_url.pk] == linking.WEIGHTS["profile_url"]
    assert confidence[by_email.pk] > confidence[by_phone.pk] > confidence[by_name.pk]
    assert [s.confidence for s in suggestions] == sorted(confidence.values(), reverse=True)
    assert confidence[by_email.pk] == linking.combine(next(s for s in suggestions if s.customer_id == by_email.pk).evidence)


def test_the_handle_of_another_platforms_identity_is_evidence(world):
    tid = world.a.tenant.pk
    customer = actions.customer_save(tid, actor=None, name="Léa Blanc")
    linked = linking.identity_for_author(tid, _author(tid, "lb-x", handle="LeaBlanc").pk)
    actions.identity_link(tid, actor=None, identity_id=linked.pk, customer_id=customer.pk)
    other = linking.identity_for_author(tid, _author(tid, "lb-bsky", handle="leablanc").pk)
    [suggestion] = linking.suggest_links(tid, other.pk)
    assert suggestion.customer_id == customer.pk
    assert suggestion.evidence[0]["kind"] == "handle"


def test_suggestions_are_not_duplicated_and_a_rejected_one_never_comes_back(world):
    tid, a = world.a.tenant.pk, world.a
    first = linking.suggest_links(tid, a.identity.pk)
    assert linking.suggest_links(tid, a.identity.pk) == first  # idempotent
    actions.suggestion_reject(tid, actor=a.members["admin"].user, suggestion_id=a.suggestion.pk)
    assert linking.suggest_links(tid, a.identity.pk) == []
    with tenant_context(tid):
        assert LinkSuggestion.objects.filter(tenant_id=tid, identity=a.identity).count() == 1
    assert _audit(tid, "suggestion.rejected")[0].data["evidence"] == a.suggestion.evidence


def test_confirm_links_and_closes_the_others_then_unlink_rejects_the_pair(world):
    tid, a = world.a.tenant.pk, world.a
    rival = actions.customer_save(tid, actor=None, name="Some One", emails=["other@example.com"])
    suggestions = linking.suggest_links(tid, a.identity.pk)
    assert {s.customer_id for s in suggestions} == {a.customer.pk, rival.pk}
    actions.suggestion_confirm(tid, actor=None, suggestion_id=a.suggestion.pk)
    with tenant_context(tid):
        a.identity.refresh_from_db()
        assert a.identity.customer_id == a.customer.pk
        statuses = dict(LinkSuggestion.objects.filter(tenant_id=tid, identity=a.identity).values_list("customer_id", "status"))
    assert statuses == {a.customer.pk: "confirmed", rival.pk: "closed"}
    assert linking.suggest_links(tid, a.identity.pk) == []  # linked: nothing to suggest
    actions.identity_unlink(tid, actor=None, identity_id=a.identity.pk)
    again = linking.suggest_links(tid, a.identity.pk)
    assert [s.customer_id for s in again] == [rival.pk]  # the unlinked pair is rejected, the closed one reopens
    assert _audit(tid, "suggestion.confirmed") and _audit(tid, "identity.unlinked")


def _state(tid, *customers):
    with tenant_context(tid):
        rows = {c.pk: {f: getattr(Customer.objects.get(pk=c.pk), f) for f in actions.MERGE_FIELDS + ("merged_into_id",)}
                for c in customers}
        identities = dict(SocialIdentity.objects.filter(tenant_id=tid).values_list("pk", "customer_id"))
        suggestions = dict(LinkSuggestion.objects.filter(tenant_id=tid).values_list("pk", "status"))
    return rows, identities, suggestions


def test_a_merge_moves_everything_and_its_undo_restores_exactly(world):
    tid, a = world.a.tenant.pk, world.a
    merged = actions.customer_save(tid, actor=None, name="S. One", emails=["work@example.com", "some.one@example.com"],
                                   phones=["+44 20 7946 0958"], external_crm_id="CRM-OLD", tier="vip", notes="Allergic.",
                                   consent_marketing=True)
    identity = linking.identity_for_author(tid, _author(tid, "so-2", handle="s_one").pk)
    actions.identity_link(tid, actor=None, identity_id=identity.pk, customer_id=merged.pk)
    pending = linking.suggest_links(tid, a.identity.pk)
    before = _state(tid, a.customer, merged)
    record = actions.customer_merge(tid, actor=None, survivor_id=a.customer.pk, merged_id=merged.pk)
    with tenant_context(tid):
        survivor = Customer.objects.get(pk=a.customer.pk)
        identity.refresh_from_db()
    assert survivor.emails == ["some.one@example.com", "s.one@example.com", "work@example.com"]
    assert survivor.tier == "vip" and "Allergic." in survivor.notes and "+442079460958" in survivor.phones
    assert survivor.external_crm_id == "CRM-1"  # the survivor keeps its own id
    assert identity.customer_id == survivor.pk
    assert record.snapshot["closed_suggestion_ids"] == [s.pk for s in pending if s.customer_id == merged.pk]
    with pytest.raises(ValidationError):  # not twice
        actions.customer_merge(tid, actor=None, survivor_id=a.customer.pk, merged_id=merged.pk)
    actions.customer_merge_undo(tid, actor=None, merge_id=record.pk)
    assert _state(tid, a.customer, merged) == before
    with pytest.raises(ValidationError):
        actions.customer_merge_undo(tid, actor=None, merge_id=record.pk)
    assert [e.data["merge"] for e in _audit(tid, "customer.merge_undone")] == [record.pk]


def test_undo_is_refused_when_the_survivor_changed_after_the_merge(world):
    tid, a = world.a.tenant.pk, world.a
    actions.customer_save(tid, actor=None, customer_id=a.customer.pk, name="Some One", emails=["new@example.com"])
    with pytest.raises(ValidationError) as exc:
        actions.customer_merge_undo(tid, actor=None, merge_id=a.merge_record.pk)
    assert "merge_record" in exc.value.message_dict


def test_merge_moves_the_external_id_when_the_survivor_has_none_and_undo_gives_it_back(world):
    tid, a = world.a.tenant.pk, world.a
    record = actions.customer_merge(tid, actor=None, survivor_id=a.other_customer.pk, merged_id=a.customer.pk)
    with tenant_context(tid):
        assert Customer.objects.get(pk=a.other_customer.pk).external_crm_id == "CRM-1"
    actions.customer_merge_undo(tid, actor=None, merge_id=record.pk)
    with tenant_context(tid):
        assert Customer.objects.get(pk=a.customer.pk).external_crm_id == "CRM-1"
        assert Customer.objects.get(pk=a.other_customer.pk).external_crm_id == ""


def test_another_tenants_customer_cannot_be_merged_or_linked(world):
    tid, a, b = world.a.tenant.pk, world.a, world.b
    with pytest.raises(ValidationError) as exc:
        actions.customer_merge(tid, actor=None, survivor_id=a.customer.pk, merged_id=b.other_customer.pk)
    assert "merged" in exc.value.message_dict
    with pytest.raises(ValidationError):
        actions.identity_link(tid, actor=None, identity_id=a.identity.pk, customer_id=b.customer.pk)


CSV = """name,emails,phones,external_crm_id,tier,consent_marketing
Ana Lima,ana@example.com; ana.l@example.com,06 11 22 33 44,CRM-10,silver,yes
,nobody@example.com,,,,
Bad Mail,not-an-email,,,,
Bad Tier,bt@example.com,,,platinum,
Some One,some.one@example.com,,,vip,no
"""


def test_csv_import_reports_rejected_rows_and_is_idempotent(world):
    tid = world.a.tenant.pk
    report = csv_io.customers_import(tid, actor=None, data=CSV.encode())
    assert (report.created, report.updated) == (1, 1)  # Ana; Some One found by e-mail
    assert [r["row"] for r in report.rejected] == [3, 4, 5]
    assert "name" in report.rejected[0]["reason"] and "tier" in report.rejected[2]["reason"]
    with tenant_context(tid):
        ana = Customer.objects.get(tenant_id=tid, external_crm_id="CRM-10")
        assert not Customer.objects.filter(tenant_id=tid, emails__contains=["bt@example.com"]).exists()
    assert ana.phones == ["+33611223344"] and ana.consent_marketing and ana.tier == "silver"
    again = csv_io.customers_import(tid, actor=None, data=CSV.encode())
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert sorted(e.data["created"] for e in _audit(tid, "customers.imported")) == [0, 1]
    with pytest.raises(ValidationError):
        csv_io.customers_import(tid, actor=None, data=b"x" * (csv_io.MAX_IMPORT_BYTES + 1))


def test_export_streams_live_customers_of_the_tenant_only_and_reimports(world):
    tid = world.a.tenant.pk
    lines = "".join(csv_io.customers_export(tid, actor=None))
    rows = list(csv.DictReader(io.StringIO(lines)))
    assert {r["name"] for r in rows} == {"Some One", "Jeanne Martin"}  # the merged duplicate is not exported
    assert next(r for r in rows if r["name"] == "Some One")["phones"] == "+33612345678"
    report = csv_io.customers_import(tid, actor=None, data=lines.encode())
    assert (report.created, report.updated, report.unchanged, report.rejected) == (0, 0, 2, [])
    assert len(_audit(tid, "customers.exported")) == 1


def test_the_task_builds_identities_and_suggestions_for_new_authors(world):
    tid = world.a.tenant.pk
    customer = actions.customer_save(tid, actor=None, name="Zoé Martin", emails=["zoe@example.org"])
    author = _author(tid, "zm-1", handle="zozo", name="Zoe", text="zoe@example.org, merci de me rappeler")
    assert customers_suggest.apply(args=(tid, [author.pk, 987654])).get() >= 1
    with tenant_context(tid):
        identity = SocialIdentity.objects.get(tenant_id=tid, author=author)
        assert LinkSuggestion.objects.filter(tenant_id=tid, identity=identity, customer=customer).exists()
    # Tenant B's task cannot see tenant A's author.
    assert customers_suggest.apply(args=(world.b.tenant.pk, [author.pk])).get() == 0
