"""Entry point of a query worker process: confine it first, then load the engine and serve.

Kept apart from `shuzhi.engine.worker` so that nothing that may start a thread (DuckDB, pyarrow)
is imported before the Landlock rules are in place: they bind only threads made after them.
"""

import sys


def main() -> None:
    req, resp, memory_limit, address_space, threads, reader = sys.argv[1:7]
    confinement: dict[str, int] = {}
    if reader == "auto":
        from shuzhi.engine.confine import confine

        confinement = confine()
    from shuzhi.engine.worker import serve

    serve(int(req), int(resp), memory_limit, int(address_space), int(threads) or None, confinement)


if __name__ == "__main__":
    main()
