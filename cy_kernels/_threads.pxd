# How many OpenMP threads a loop gets: one for small work (a parallel region costs more than
# it saves), all of them (OMP_NUM_THREADS, else the cores) otherwise. Built without OpenMP,
# every loop runs on one thread and prange is a plain loop.

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static inline int hpcflow_max_threads(void) { return omp_get_max_threads(); }
    static inline int hpcflow_openmp_enabled(void) { return 1; }
    #else
    static inline int hpcflow_max_threads(void) { return 1; }
    static inline int hpcflow_openmp_enabled(void) { return 0; }
    #endif
    """
    int hpcflow_max_threads() noexcept nogil
    int hpcflow_openmp_enabled() noexcept nogil

# Below this many elements touched, a loop runs on one thread (measured: an OpenMP region
# costs a few microseconds, what a core needs for ~20k float adds).
cdef enum:
    PARALLEL_MIN_WORK = 32768


cdef inline int threads_for(Py_ssize_t work) noexcept nogil:
    if work < PARALLEL_MIN_WORK:
        return 1
    return hpcflow_max_threads()
