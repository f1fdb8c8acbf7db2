"""Build and install hpcflow: the Python package plus the Cython CPU kernels in cy_kernels/."""
from setuptools import find_packages, setup

setup(
    name="hpcflow",
    version="0.1.0",
    description="TensorFlow 1.x graph mode rebuilt as an MPI batch runtime for HPC clusters",
    long_description=open("README.md").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=find_packages(include=["hpcflow", "hpcflow.*"]),
    install_requires=["numpy>=1.22", "mpi4py>=3.1", "h5py>=3.0"],
    extras_require={
        "mpich": ["mpich"],
        "gpu": ["cupy-cuda12x"],
        "test": ["pytest>=7", "pytest-mpi", "mpich", "scipy"],
    },
    entry_points={"console_scripts": ["hpcflow=hpcflow.__main__:main"]},
)
