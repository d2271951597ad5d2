"""What spark-submit runs: the users_aggregates package, from this folder (spark-submit takes a file)."""

import sys

from users_aggregates.__main__ import main

sys.exit(main())
