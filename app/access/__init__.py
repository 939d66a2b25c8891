"""Who is acting: API keys, roles, practice scopes, and the audit log."""
