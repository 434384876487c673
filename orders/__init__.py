"""The shop's order system: one client interface, the embedded demo store behind it."""
