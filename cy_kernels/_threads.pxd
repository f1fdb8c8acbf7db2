# How many OpenMP threads a loop gets: one for small work (a parallel region costs more than
# it saves), all of them otherwise (OMP_NUM_THREADS, else the cores, at most OMP_THREAD_LIMIT). Built without OpenMP,
# every loop runs on one thread and prange is a plain loop.

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static inline int hpcflow_max_threads(void) {
        int wanted = omp_get_max_threads(), limit = omp_get_thread_limit();
        return wanted < limit ? wanted : limit;
    }
    static inline int hpcflow_openmp_enabled(void) { return 1; }
    #else
    static inline int hpcflow_max_threads(void) { return 1; }
    static inline int hpcflow_openmp_enabled(void) { return 0; }
    #endif
    """
    int hpcflow_max_threads() noexcept nogil
    int hpcflow_openmp_enabled() noexcept nogil

# Below this many elements touched, a loop runs on one thread. Waking the sleeping OpenMP
# threads (hpcflow._cy sets OMP_WAIT_POLICY=passive) took 10-15 us here, the time of ~100k
# float adds: a 128x256 BiasAdd ran 3x slower on two threads than on one.
cdef enum:
    PARALLEL_MIN_WORK = 131072


cdef inline int threads_for(Py_ssize_t work) noexcept nogil:
    if work < PARALLEL_MIN_WORK:
        return 1
    return hpcflow_max_threads()
