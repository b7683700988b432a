"""Subcommands of ``nixos-build-status``, one module each.  Each module has
``register(subparsers)``, which adds its parser and sets ``func`` to a function taking
the parsed arguments and returning the exit code.  Modules import heavy things inside
their functions: the status path must stay fast."""
