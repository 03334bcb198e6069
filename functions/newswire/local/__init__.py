"""The local stack: moto standing in for AWS on loopback, for `make serve` and the tests."""
