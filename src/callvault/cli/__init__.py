"""The ``callvault`` command: server administration and (later) the API client."""
