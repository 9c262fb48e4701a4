# Listening queries, connected accounts, connectors, mentions and authors arrive with issue #3.
