"""Request and response models of the REST API (docs/api.md): camelCase on the wire, snake_case in Python."""
