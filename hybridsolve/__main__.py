"""``python -m hybridsolve ...``: the ``hybridsolve`` command (see hybridsolve.cli)."""
from hybridsolve.cli import cli

cli()
