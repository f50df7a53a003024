"""
The worker's wire format, past C{test_workers}: the shared counters'
descriptor and the heartbeat travel too, and the errors name what went
wrong in full.
"""

import socket
from pathlib import Path
from typing import Any, cast

from twisted.trial.unittest import SynchronousTestCase

from responder import ResponderConfig
from responder.workers._spec import (
    SharedSocket,
    WorkerSpec,
    configToJSON,
    workerDescription,
)


class SpecTests(SynchronousTestCase):
    def test_counters_and_heartbeat_travel(self) -> None:
        spec = WorkerSpec(
            number=1,
            parent=99,
            config=ResponderConfig(),
            sockets=(SharedSocket(3, socket.AF_INET6, "tcp6:0"),),
            statsFD=7,
            heartbeat=0.5,
        )
        self.assertEqual(WorkerSpec.fromJSON(spec.toJSON()), spec)

    def test_unknown_type_named(self) -> None:
        config = ResponderConfig(endpoints=cast(Any, (Path("/x"),)))
        with self.assertRaises(TypeError) as caught:
            configToJSON(config)
        self.assertEqual(
            str(caught.exception), "cannot pass PosixPath('/x') to a worker"
        )

    def test_refusal_names_what_can_be_shared(self) -> None:
        with self.assertRaises(ValueError) as caught:
            workerDescription("stdio:")
        self.assertEqual(
            str(caught.exception),
            "--workers cannot share endpoint 'stdio:': only tcp:, tcp6:, unix:, "
            "ssl: and systemd: sockets can be shared, also behind haproxy:",
        )
