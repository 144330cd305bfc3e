"""SPEC §7 end to end: the live protocol, from a committed change to a reader's socket.

The bottom of this package (`protocol`, `publish`, `history`) knows no model, so the domain's
services call it (`publish.send_change_on_commit`); the top (`hub`, `consumer`, `routing`)
reads the domain through its selectors. docs/architecture.md draws the path.
"""
