"""The dashboard: server-rendered report pages behind a login, in English and Chinese."""
