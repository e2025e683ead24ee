"""Applications the benchmarks run in peer servers (uvicorn, granian, node): the same three
endpoints as ``examples/handler.py``, written the fastest idiomatic way for each server."""
