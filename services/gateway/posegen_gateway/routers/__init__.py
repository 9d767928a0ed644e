"""HTTP routes of SPEC §5; each handler parses, calls one serving function and returns its model."""
