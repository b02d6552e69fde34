"""``python -m fastweights_np`` runs the command line."""

import sys

from fastweights_np.cli import main

sys.exit(main())
