"""The ``posegen`` command: operators' and developers' tools over the library and the services (migrate,
seed, the services' entry points, the local cluster, models, tokens, and the API client)."""
