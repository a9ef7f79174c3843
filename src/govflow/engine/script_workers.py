"""The processes diagram code runs in.

The sandbox's bounds are deterministic (a re-execution meets the same bound as the original run); this
is the operating system's limit behind them, for whatever they do not see. Every script and expression
script runs in a worker process whose address space is capped (``RLIMIT_AS``), and which is killed once
it runs past a wall-clock limit; a worker that hit either is replaced. The step then fails naming the
limit, and nothing is stored. A step's scripts share one allowance of time (what they computed, as the
worker measures it), so that no step holds its instance's lock, or SQLite's write lock, much longer than
the limit on their account.

Messages are pickles over a socket pair. What the parent sends is trusted; what a worker sends is
read by an unpickler that builds nothing but plain data, since the worker runs designers' code. The
helpers a script calls (``workdays``, ``profile_value``…) run in the parent, which answers each call.
"""
from __future__ import annotations

import builtins
import io
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from ..errors import ValidationFailed
from . import sandbox
from .data import check_data

# The worker starts bare (-I -S: no site, no environment) and imports the sandbox from this source root.
_ROOT = str(Path(__file__).resolve().parents[2])
_BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); from govflow.engine.script_workers import serve; "
         "serve(int(sys.argv[2]), int(sys.argv[3]))")


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 512        # address space of one worker
    seconds: float = 3.0        # one step's scripts and expressions together
    workers: int = 4            # workers running at once; a step waits for one at most ``seconds``


class ScriptWorkers:
    """The workers of this process, shared by its threads (one pool per set of limits)."""

    _pools: dict[Limits, ScriptWorkers] = {}
    _pools_lock = threading.Lock()

    @classmethod
    def shared(cls, limits: Limits) -> ScriptWorkers:
        with cls._pools_lock:
            pool = cls._pools.get(limits)
            if pool is None or pool._pid != os.getpid():      # a forked server starts its own
                pool = cls._pools[limits] = cls(limits)
            return pool

    def __init__(self, limits: Limits):
        self.limits = limits
        self._pid = os.getpid()
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(limits.workers)

    def execute(self, script: str, names: dict, functions: dict, seconds: float) -> tuple[dict, float]:
        """``sandbox.execute`` in a worker, killed past ``seconds``: the script's variables, and the
        seconds it computed. Raises ScriptFailed on a breach of a limit."""
        if seconds <= 0:
            raise sandbox.ScriptFailed(_Breach("time").reason(self.limits))
        deadline = time.monotonic() + seconds
        if not self._slots.acquire(timeout=seconds):
            raise sandbox.ScriptFailed(f"脚本执行进程均忙，{self.limits.seconds:g} 秒内未能运行")
        try:
            worker = self._take()
            try:
                return worker.run((script, names, sorted(functions)), functions, deadline)
            except _Breach as breach:
                worker.kill()
                worker = None
                raise sandbox.ScriptFailed(breach.reason(self.limits)) from None
            finally:
                if worker is not None:
                    self._give(worker)
        finally:
            self._slots.release()

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
        return _Worker(self.limits.memory_mb)

    def _give(self, worker: _Worker) -> None:
        with self._lock:
            self._idle.append(worker)


class _Breach(Exception):
    """The worker ran out of time or memory, or died: it is killed and replaced."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind

    def reason(self, limits: Limits) -> str:
        if self.kind == "time":
            return f"脚本运行超过 {limits.seconds:g} 秒的时限（一个步骤的脚本和条件合计），已被终止"
        if self.kind == "memory":
            return f"脚本占用内存超过 {limits.memory_mb} MB 的上限，已被终止"
        return "脚本执行进程意外退出（可能占用内存过多）"


class _Worker:
    def __init__(self, memory_mb: int):
        mine, theirs = socket.socketpair()
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _BOOT, _ROOT, str(theirs.fileno()), str(memory_mb << 20)],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        self.connection = Connection(mine.detach())

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        self.connection.close()

    def run(self, request: tuple, functions: dict, deadline: float):
        self.connection.send_bytes(pickle.dumps(request, pickle.HIGHEST_PROTOCOL))
        failed_helper = None
        while True:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0 or not self.connection.poll(remaining):
                    raise _Breach("time")
                message = _plain(self.connection.recv_bytes())
            except (EOFError, OSError):
                raise _Breach("died") from None
            kind = message[0]
            if kind == "call":
                failed_helper = self._answer(functions, *message[1:]) or failed_helper
            elif kind == "done":
                return message[1], message[2]
            elif kind == "memory":
                raise _Breach("memory")
            elif kind == "helper" and failed_helper is not None:
                raise failed_helper
            else:
                raise _error(message)

    def _answer(self, functions: dict, name: str, args: tuple, kwargs: dict) -> Exception | None:
        try:
            value = functions[name](*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - it is raised to the step as itself once the worker stops
            self.connection.send_bytes(pickle.dumps(("failed",)))
            return err
        self.connection.send_bytes(pickle.dumps(("value", value), pickle.HIGHEST_PROTOCOL))
        return None


class _PlainData(pickle.Unpickler):
    """Builds containers, text and numbers, and no object of any class (``range`` aside)."""

    def find_class(self, module, name):
        if (module, name) == ("builtins", "range"):
            return range
        raise pickle.UnpicklingError(f"{module}.{name}")


def _plain(data: bytes):
    try:
        return _PlainData(io.BytesIO(data)).load()
    except pickle.UnpicklingError as err:
        return ("failed", f"脚本结果含有不能使用的数据（{err}）")


def _error(message: tuple) -> Exception:
    kind = message[0]
    if kind == "failed":
        return sandbox.ScriptFailed(message[1])
    if kind == "rejected":
        return sandbox.ScriptRejected(message[1], message[2])
    if kind == "invalid":
        return ValidationFailed(message[1], message[2])
    if kind == "raised":      # the script's own error (NameError, KeyError…), as the same builtin type
        _, type_name, args, name = message
        cls = getattr(builtins, type_name, None)
        if not (isinstance(cls, type) and issubclass(cls, Exception)):
            cls, args = RuntimeError, (f"{type_name}: {args[0] if args else ''}",)
        err = cls(*args)
        if name is not None:
            err.name = name
        return err
    return sandbox.ScriptFailed(f"脚本执行进程的回答无法识别：{kind}")


# -- in the worker ----------------------------------------------------------------------------------------
class _HelperFailed(BaseException):
    """A helper raised in the parent: the script stops (it cannot catch a BaseException), and the
    parent raises the helper's own error."""


def serve(fd: int, memory: int) -> None:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    connection = Connection(fd)
    while True:
        try:
            request = pickle.loads(connection.recv_bytes())
        except EOFError:
            return
        connection.send_bytes(_answered(connection, *request))


def _answered(connection: Connection, script: str, names: dict, helpers: list) -> bytes:
    functions = sandbox.trusted({name: _helper(connection, name) for name in helpers})
    began = time.process_time()
    try:
        result = sandbox.execute(script, names, functions)
        check_data(result, where="脚本结果")
        message = ("done", result, time.process_time() - began)
    except (sandbox.OutOfMemory, MemoryError):
        message = ("memory",)
    except _HelperFailed:
        message = ("helper",)
    except sandbox.ScriptFailed as failed:
        message = ("failed", str(failed))
    except sandbox.ScriptRejected as rejected:
        message = ("rejected", rejected.reason, rejected.line)
    except ValidationFailed as invalid:
        message = ("invalid", invalid.message, invalid.details)
    except Exception as err:  # noqa: BLE001 - the script's own error goes back to the step
        args = tuple(a if isinstance(a, (str, int, float)) else str(a) for a in err.args)
        message = ("raised", type(err).__name__, args, getattr(err, "name", None))
    try:
        return pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    except Exception as err:  # noqa: BLE001 - what check_data let through and pickle cannot carry
        return pickle.dumps(("failed", f"脚本结果不能保存（{type(err).__name__}）"))


def _helper(connection: Connection, name: str):
    def call(*args, **kwargs):
        connection.send_bytes(pickle.dumps(("call", name, args, kwargs), pickle.HIGHEST_PROTOCOL))
        answer = pickle.loads(connection.recv_bytes())
        if answer[0] != "value":
            raise _HelperFailed()
        return answer[1]
    return call
