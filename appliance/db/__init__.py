"""The SQLite (WAL) database: the durable spine shared by the roles."""
