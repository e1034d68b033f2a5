"""The `ablation` command and `python -m ablation`.

The command line (ablation/cli) is imported here, inside main: a Ctrl-C while Python loads the
package (about a second) is then reported like any later one, not as a traceback."""
import sys


def main() -> int:
    try:
        from ablation.cli import main as command_line
    except KeyboardInterrupt:
        sys.stderr.write("interrupted while starting: nothing was run\n")
        return 130
    return command_line()


if __name__ == "__main__":
    raise SystemExit(main())
