"""`python -m stompmodels`: the command line (see stompmodels.cli)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
