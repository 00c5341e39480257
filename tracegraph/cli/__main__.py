"""``python -m tracegraph.cli``: the same as the ``tracegraph`` command."""

from . import app

if __name__ == "__main__":  # pragma: no cover
    app()
