"""Read-only views returning plain data: inbox, deal and process views, audit log."""
