"""The relay service: a WebSocket server (the ``websockets`` library) that forwards each user's events."""
