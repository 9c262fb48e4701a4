# Conversations, routing rules, department alerts and replies arrive with issue #5.
