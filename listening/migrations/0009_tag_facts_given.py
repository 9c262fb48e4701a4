from django.db import migrations

# The tag facts triggers of 0008 stand aside for a writer that passes the facts itself: ingestion's
# match insert, inside listening.tag_facts.facts_given, which sets this transaction-local setting.
# Everyone else is overridden as before. A WHEN is evaluated without entering PL/pgSQL, so a
# skipped row costs next to nothing.
TRIGGERS = (("listening_mentionmatch", "mention_match_facts"), ("listening_mentiontopic", "mention_topic_facts"))


def _create(when: str) -> str:
    return "".join(
        f"DROP TRIGGER {name} ON {table};\n"
        f"CREATE TRIGGER {name} BEFORE INSERT OR UPDATE OF mention_id ON {table} FOR EACH ROW {when}"
        f"EXECUTE FUNCTION listening_tag_copy_mention();\n"
        for table, name in TRIGGERS)


class Migration(migrations.Migration):

    dependencies = [
        ('listening', '0008_mention_facts_on_tags'),
    ]

    operations = [
        migrations.RunSQL(_create("WHEN (current_setting('app.tag_facts', true) IS DISTINCT FROM 'given') "),
                          _create("")),
    ]
