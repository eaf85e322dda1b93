"""Work spread over the CPUs a refit has: forked processes, each sending its results back.

A 3,008 MB Lambda function has about 1.7 vCPUs, and Python runs one thread's bytecode at a
time: the refit's decoding and training, which hold the interpreter most of the time, use a
second CPU only in a second process. Lambda has no ``/dev/shm``, so
:class:`multiprocessing.Pool` (whose queues need shared-memory semaphores) cannot start there;
plain processes with a pipe each can. Each process is forked, so it inherits the work's inputs
without copying them, and only its results (pickled) travel back.

Each computes on one BLAS thread (threadpoolctl): the processes are the parallelism. numpy's
OpenBLAS otherwise starts a thread a CPU for every matrix product, and between the small
products of the classifier's training they spin: a refit took 1.6 times the CPU seconds for
the same classifiers, and more on a busy machine.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from typing import TypeVar

from threadpoolctl import threadpool_limits

T = TypeVar("T")
R = TypeVar("R")


def available_cpus() -> int:
    """The CPUs this process may run on (Lambda reports 2 for 3,008 MB)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def fork_map(
    function: Callable[[T], R], items: Sequence[T], processes: int | None = None
) -> list[R]:
    """``[function(item) for item in items]``, in order, computed by up to ``processes`` forked
    processes (default :func:`available_cpus`), each taking every ``processes``-th item.

    Runs in this process when one process is enough or the platform cannot fork. An exception
    in a process is raised here as a :class:`RuntimeError` with its traceback. ``function``
    need not be picklable; its results must be.
    """
    processes = min(processes or available_cpus(), len(items))
    if processes <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        with threadpool_limits(1):
            return [function(item) for item in items]
    context = multiprocessing.get_context("fork")
    readers: dict[Connection, int] = {}
    workers = []
    for share in range(processes):
        reader, writer = context.Pipe(duplex=False)
        worker = context.Process(
            target=_work, args=(function, items, share, processes, writer), daemon=True
        )
        worker.start()
        writer.close()
        readers[reader] = share
        workers.append(worker)
    results: list[list[R] | None] = [None] * processes
    failure = None
    try:
        while readers:
            for reader in wait(list(readers)):
                share = readers.pop(reader)
                try:
                    ok, payload = reader.recv()
                except EOFError:
                    ok, payload = False, "the process ended without a result"
                reader.close()
                if ok:
                    results[share] = payload
                else:
                    failure = failure or payload
    finally:
        for worker in workers:
            worker.join()
    if failure is not None:
        raise RuntimeError(f"a forked process failed:\n{failure}")
    out: list[R] = [None] * len(items)  # type: ignore[list-item]
    for share, computed in enumerate(results):
        out[share::processes] = computed  # type: ignore[assignment]
    return out


def _work(
    function: Callable[[T], R], items: Sequence[T], share: int, processes: int, writer: Connection
) -> None:
    try:
        with threadpool_limits(1):
            computed = [function(item) for item in items[share::processes]]
    except BaseException:
        writer.send((False, traceback.format_exc()))
    else:
        writer.send((True, computed))
    finally:
        writer.close()
