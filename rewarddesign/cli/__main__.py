"""``python -m rewarddesign.cli``."""

import sys

from rewarddesign.cli.main import main

sys.exit(main())
