"""The emulator run's own rules (terraform/tests/apply_on_emulators.py): a
failed attempt is made once more on a fresh moto and the output says so, a
failure that repeats fails the run, and a failed attempt's report names
moto's server errors and conflicts, not the provider's normal "not found"
reads. No terraform and no moto are started here."""

import contextlib
import io
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import apply_on_emulators

MOTO_LOG = """\
127.0.0.1 - - [01/Dec/2026 03:57:30] "POST / HTTP/1.1" 400 -
127.0.0.1 - - [01/Dec/2026 03:57:30] "POST /2015-03-31/functions HTTP/1.1" 201 -
127.0.0.1 - - [01/Dec/2026 03:57:31] "GET /2015-03-31/functions/f/policy HTTP/1.1" 404 -
127.0.0.1 - - [01/Dec/2026 03:59:30] "POST /2015-03-31/functions HTTP/1.1" 409 -
Traceback (most recent call last):
127.0.0.1 - - [01/Dec/2026 03:59:31] "POST / HTTP/1.1" 500 -
"""


class AttemptsTest(unittest.TestCase):
    def run_main(self, outcomes, attempts="2"):
        """main() with each attempt's failed roots taken from `outcomes`."""
        calls = []

        def attempt(args, number):
            calls.append(number)
            return outcomes[number - 1]

        with mock.patch.object(apply_on_emulators, "attempt", attempt), contextlib.redirect_stdout(io.StringIO()) as out:
            code = apply_on_emulators.main(["--copy", "unused", "--plugin-dir", "unused", "--apply", "dev", "--attempts", attempts])
        return code, calls, out.getvalue()

    def test_a_first_attempt_that_passes_is_the_only_one(self):
        code, calls, out = self.run_main([[]])
        self.assertEqual((code, calls), (0, [1]))
        self.assertNotIn("attempt 2", out)

    def test_a_failure_on_the_first_moto_passes_on_the_second_and_says_so(self):
        code, calls, out = self.run_main([[{"root": "dev"}], []])
        self.assertEqual((code, calls), (0, [1, 2]))
        self.assertIn("attempt 1 failed (dev): once more on a fresh moto", out)
        self.assertIn("passed on attempt 2 of 2", out)

    def test_a_failure_that_repeats_fails_the_run(self):
        code, calls, _ = self.run_main([[{"root": "dev"}], [{"root": "dev"}]])
        self.assertEqual((code, calls), (1, [1, 2]))

    def test_one_attempt_when_asked_for_one(self):
        code, calls, _ = self.run_main([[{"root": "dev"}]], attempts="1")
        self.assertEqual((code, calls), (1, [1]))


class MotoErrorsTest(unittest.TestCase):
    def test_counts_every_status_and_quotes_only_server_errors_conflicts_and_tracebacks(self):
        with tempfile.TemporaryDirectory() as scratch:
            log = Path(scratch) / "moto.log"
            log.write_text(MOTO_LOG)
            lines = apply_on_emulators.moto_errors(log)
        self.assertEqual(lines[0], "answers by status: 201 x1, 400 x1, 404 x1, 409 x1, 500 x1")
        self.assertEqual([line.split('"')[1] if '"' in line else line for line in lines[1:]], [
            "POST /2015-03-31/functions HTTP/1.1",
            "Traceback (most recent call last):",
            "POST / HTTP/1.1",
        ])

    def test_says_so_when_moto_answered_nothing_unusual(self):
        with tempfile.TemporaryDirectory() as scratch:
            log = Path(scratch) / "moto.log"
            log.write_text(MOTO_LOG.splitlines(keepends=True)[0])
            self.assertEqual(apply_on_emulators.moto_errors(log), ["answers by status: 400 x1", "no 5xx or 409 answer and no traceback"])


if __name__ == "__main__":
    unittest.main()
