from django.db import migrations

# The author count trigger of 0006 stands aside for ingestion, which adds the counts in its author
# upsert and corrects them after its mention upsert (listening.tag_facts.counts_given sets this
# transaction-local setting around that upsert). Every other insert is counted as before.
SQL = """
DROP TRIGGER mention_author_count_insert ON listening_mention;
CREATE TRIGGER mention_author_count_insert AFTER INSERT ON listening_mention
    REFERENCING NEW TABLE AS inserted_mentions FOR EACH STATEMENT {when}
    EXECUTE FUNCTION listening_author_count_inserted();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('listening', '0009_tag_facts_given'),
    ]

    operations = [
        migrations.RunSQL(
            SQL.format(when="WHEN (current_setting('app.author_counts', true) IS DISTINCT FROM 'given')"),
            SQL.format(when="")),
    ]
