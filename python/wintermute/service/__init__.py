"""The service: the engine behind REST and WebSocket APIs (FastAPI on uvicorn).

- ``venue``: the running engine with an exchange's bookkeeping (orders, fills, balances,
  depth, queue positions, live topics); every API is a thin layer over it;
- ``keys``: API keys scoped to an account, and the admin role;
- ``settings``: the ``[service]`` table of the config file;
- ``app``: ``create_app(...)``, the FastAPI application; ``server``: running it on uvicorn.

See ``docs/service.md``.
"""
