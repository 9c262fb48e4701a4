from django.db import migrations

from social_crm.core.migration_ops import same_tenant_fk


class Migration(migrations.Migration):
    dependencies = [("listening", "0001_initial")]
    operations = [
        same_tenant_fk("listening_pollcursor", "account_id", "listening_connectedaccount"),
        same_tenant_fk("listening_pollcursor", "query_id", "listening_listeningquery"),
        same_tenant_fk("listening_mention", "account_id", "listening_connectedaccount", on_delete="SET NULL"),
        same_tenant_fk("listening_mention", "author_id", "listening_author", on_delete="SET NULL"),
        same_tenant_fk("listening_mentionmatch", "mention_id", "listening_mention"),
        same_tenant_fk("listening_mentionmatch", "query_id", "listening_listeningquery"),
        same_tenant_fk("listening_quarantinedpayload", "account_id", "listening_connectedaccount", on_delete="SET NULL"),
    ]
