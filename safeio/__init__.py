"""Safe file output for the command-line tools: atomic writes and path confinement.

Every tool that writes a file the user owns goes through :func:`atomic_write` or
:func:`atomic_output`; every path that comes from a server, a job file or a workflow goes
through :func:`confined_path` before anything is written under it.
"""

from .atomic import atomic_output, atomic_write, check_not_input, write_error
from .confine import confined_path

__all__ = ["atomic_output", "atomic_write", "check_not_input", "confined_path", "write_error"]
