# Device-side test runner: runs inside `micropython`, one test module per process.
# argv: module name, then the test function names to run (pytest tells us which).
# Each result is one line "@@T <name> PASS|FAIL|ERROR"; a failure's traceback is
# printed between "@@TB <name>" and "@@TB-END". The host side (conftest.py) parses it.
import sys
import io


def _trace(name, exc):
    buf = io.StringIO()
    sys.print_exception(exc, buf)
    print("@@TB", name)
    print(buf.getvalue())
    print("@@TB-END")


def _call(fn):
    r = fn()
    # async def tests return a coroutine (a generator on MicroPython)
    if r is not None and hasattr(r, "send"):
        import asyncio

        asyncio.run(r)


def main():
    args = sys.argv[1:]
    modname = args[0]
    try:
        mod = __import__(modname)
    except BaseException as e:  # a module that cannot import fails every test in it
        for name in args[1:]:
            print("@@T", name, "ERROR")
            _trace(name, e)
        return
    setup = getattr(mod, "setup", None)
    teardown = getattr(mod, "teardown", None)
    for name in args[1:]:
        fn = getattr(mod, name, None)
        if fn is None:
            print("@@T", name, "ERROR")
            print("@@TB", name)
            print("no such test function in", modname)
            print("@@TB-END")
            continue
        status = "PASS"
        try:
            if setup:
                setup()
            _call(fn)
        except AssertionError as e:
            status = "FAIL"
            exc = e
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                raise
            status = "ERROR"
            exc = e
        try:
            if teardown:
                teardown()
        except Exception as e:
            if status == "PASS":
                status = "ERROR"
                exc = e
        print("@@T", name, status)
        if status != "PASS":
            _trace(name, exc)
    print("@@DONE")


main()
