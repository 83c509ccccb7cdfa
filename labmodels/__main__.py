"""``python -m labmodels train MODEL`` and ``python -m labmodels list`` (see ``labmodels.cli``)."""

from labmodels.cli import main

raise SystemExit(main())
