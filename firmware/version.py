"""The app's version as built; a release's signed manifest carries the authoritative one."""
VERSION = "0.1.0-dev"
