"""Everything that needs torch and diffusers: building, loading and running the Stable Diffusion 1.5 +
OpenPose ControlNet pipeline. Only the worker (and ``posegen models``) import this package."""
