"""Marketing content as code: YAML under marketing/, validated, then published to the store."""
