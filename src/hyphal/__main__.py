"""``python -m hyphal`` is the ``hyphal`` command."""

from hyphal.cli import main

if __name__ == "__main__":
    main()
