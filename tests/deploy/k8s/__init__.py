"""What the tests know about Kubernetes: the real ``kubectl kustomize`` output, the API and CRD schemas it
must satisfy, and plain evaluations over it (scheduling)."""
