"""The composition root and the doors (chat platforms, command line, web).

One BLAS thread per process, set before numpy loads: the FAQ's meaning layer multiplies one
question's vector at a time, and OpenBLAS's default thread pool (one per core, spinning between
calls) made that cost about 25 times the CPU of a single thread (measured: 1.8 ms against 0.07 ms
per matrix-vector product, 48 ms against 2.3 ms per question encoded). An operator who wants
more sets OPENBLAS_NUM_THREADS (or OMP_NUM_THREADS) in the environment.
"""

import os

if not any(os.environ.get(n) for n in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")):
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
