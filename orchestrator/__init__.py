"""Turns a request into a running tool and wires bytes -> lines -> events -> sinks.

The only package that starts processes or touches the terminal."""
