"""Containers: the Dockerfile, the build context and the engine that builds images."""
