"""The HTTP API: FastAPI app factory, routes, auth dependency, problem-details mapping."""
