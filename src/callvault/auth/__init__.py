"""API users, permissions and OAuth client-credentials access tokens."""
