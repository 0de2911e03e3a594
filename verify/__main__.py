"""``python -m verify`` is ``learnwin``."""

import sys

from .cli import main

sys.exit(main())
