"""Customer records and the social identities linked to them (issue #5)."""
