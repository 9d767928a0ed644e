"""Request and response models of the REST API (SPEC §5): camelCase on the wire, snake_case in Python."""
