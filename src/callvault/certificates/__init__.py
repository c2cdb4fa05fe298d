"""Certificates of erasure: issue, store, JWKS (contract §14); verification is the SDK's."""
