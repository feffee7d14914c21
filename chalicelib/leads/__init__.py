"""Lead capture: validation, normalisation, attribution and identity of submitted leads."""
