import sys

from jaxlin.cli import main

sys.exit(main())
