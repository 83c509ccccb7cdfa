"""``python -m labmodels train MODEL`` and ``python -m labmodels list`` (see ``labmodels.cli``)."""

from labmodels.train import main

raise SystemExit(main())
