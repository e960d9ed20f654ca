"""``python -m losskit``: the command line (see :mod:`losskit.cli`)."""

from losskit.cli import main

main()
