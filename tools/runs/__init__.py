"""Run tracker: every render, metrics and assembly run in one DuckDB file (``tracker``), and
the ``runs`` subcommand that lists and compares them (``command``)."""
