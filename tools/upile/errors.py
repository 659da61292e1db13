class UserError(Exception):
    """A mistake the user can fix (bad argument, missing file): shown without traceback."""
