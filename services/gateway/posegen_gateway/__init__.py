"""The gateway service: FastAPI on uvicorn over the ``posegen`` library (docs/api.md)."""
