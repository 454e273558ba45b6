import os
import sys

from simlab.cli import main

try:
    code = main()
    sys.stdout.flush()
except BrokenPipeError:
    # the reader went away (`python -m simlab --help | head`): stop quietly, as Unix tools do;
    # stdout is pointed at devnull so the interpreter's own flush at exit does not raise again
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    code = 1
raise SystemExit(code)
