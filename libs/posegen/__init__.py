"""Pose Generator: the library shared by the gateway, the relay and the GPU workers."""

__version__ = "0.1.0"
