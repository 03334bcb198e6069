"""AWS Lambda entry points. Each module's docstring names its trigger and environment."""
