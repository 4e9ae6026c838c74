"""``python -m fer_kit ...`` is ``fer-kit ...`` (where the script folder is not on PATH, as on
Windows without an activated environment)."""
import sys

from .cli import main

sys.exit(main())
