"""S3-style event sequencers for pipeline tests, handed out in order."""

from __future__ import annotations

from newswire.pipeline.changes import normalise_sequencer


class Sequencer:
    """Hands out increasing S3-style sequencers, like S3 does for one bucket."""

    def __init__(self) -> None:
        self.value = 0x100

    def __call__(self) -> str:
        self.value += 1
        return normalise_sequencer(f"{self.value:X}")
