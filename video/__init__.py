"""Bounded-memory video output: chunked latent decode streamed into a PyAV encoder."""
