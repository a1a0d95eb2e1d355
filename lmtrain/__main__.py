"""``python -m lmtrain``: the same as the ``lmtrain`` command."""

from .cli import main

raise SystemExit(main())
