import sys

from posegen_cli.main import main

sys.exit(main())
