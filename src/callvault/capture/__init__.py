"""Call capture: the Tethr-compatible upload, call status, and reads of captured calls."""
