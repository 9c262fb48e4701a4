"""Synthetic demo data: ``generate`` writes the mentions the replay connector plays back
(``demo_mentions.jsonl.gz``); ``texts`` holds the sentence banks. See README.md."""
