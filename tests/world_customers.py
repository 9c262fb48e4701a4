"""Customer rows of the two-tenant world (called by tests/conftest.py build_world): one row of
every customers table, the same names, e-mails and handles in both tenants, made through the
real actions."""

from __future__ import annotations


def add_customers(tw) -> None:
    from listening.models import Mention
    from social_crm.customers import actions, linking
    from social_crm.tenancy.scope import tenant_context

    tid = tw.tenant.pk
    tw.customer = actions.customer_save(tid, actor=None, name="Some One", emails=["some.one@example.com"],
                                        phones=["06 12 34 56 78"], handles=["@someone"], external_crm_id="CRM-1",
                                        tier="gold")
    duplicate = actions.customer_save(tid, actor=None, name="Someone (old record)", emails=["s.one@example.com"],
                                      notes="Imported from the old CRM.")
    tw.merge_record = actions.customer_merge(tid, actor=None, survivor_id=tw.customer.pk, merged_id=duplicate.pk)
    with tenant_context(tid):
        author_id = Mention.objects.filter(tenant_id=tid).order_by("id").values_list("author_id", flat=True).first()
    tw.identity = linking.identity_for_author(tid, author_id)  # "@someone": the handle evidence
    tw.suggestion = linking.suggest_links(tid, tw.identity.pk)[0]
    tw.other_customer = actions.customer_save(tid, actor=None, name="Jeanne Martin", emails=["jeanne@example.com"])
    from social_crm.customers import gdpr

    # PrivacySettings: a retention period (GDPR), long enough to leave the world's mentions alone.
    tw.privacy_settings = gdpr.privacy_update(tid, actor=None, retention_days=3650)
