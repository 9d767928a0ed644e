"""The gateway service: FastAPI on uvicorn over the ``posegen`` library (SPEC §5)."""
