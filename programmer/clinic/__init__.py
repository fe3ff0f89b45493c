"""The clinic's shared record on PostgreSQL: sync, server schema, chain verification and
read-only review. The local SQLite store stays the programmer's own; nothing here runs
during a visit unless asked, and nothing in a visit waits on it. See docs/clinic.md."""
