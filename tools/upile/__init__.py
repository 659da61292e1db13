"""uPile host tools (CPython): the `upile` command."""
