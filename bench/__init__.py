"""The live blog's benchmarks: `python -m bench` (`make bench`), `python -m bench --quick`."""
