"""Entry point of ``python -m data_download`` (see :mod:`data_download.cli`)."""

from data_download.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
