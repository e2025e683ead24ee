"""hyphal's core: the runtime, structured tasks, cancel scopes, channels, select and pools.

Nothing in this package imports from the layers above it (actors, kernel, http, js, bench).
"""
