"""HTTP routes of docs/api.md; each handler parses, calls one serving function and returns its model."""
