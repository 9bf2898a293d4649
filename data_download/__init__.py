"""The download command: python -m data_download."""
