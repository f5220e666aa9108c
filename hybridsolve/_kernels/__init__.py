"""Cython kernels: typed-memoryview algorithms over float32/float64/complex64/complex128."""
