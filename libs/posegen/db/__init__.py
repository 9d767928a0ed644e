"""PostgreSQL access: the connection pool, migrations and the data functions of each table."""
