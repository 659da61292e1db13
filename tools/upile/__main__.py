import sys

from upile.cli import main

sys.exit(main())
