"""An index for the inbox list on conversations still to work on (see Conversation.Meta)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("inbox", "0002_routing_alert_escalation_delay"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(condition=models.Q(status__in=["new", "open", "pending"]),
                               fields=["tenant", "-last_message_at", "-id"], name="conversation_active_idx"),
        ),
    ]
