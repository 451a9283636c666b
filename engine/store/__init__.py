"""Tables, the database, migrations and the append-only guard of the audit trail."""
