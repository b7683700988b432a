"""nixos-build-status: the library users script against (see docs/library.md)."""
