"""If/then automation rules (marketing/rules.yaml)."""
