"""Benchmarks of the synchronization : scenario functions run by `manage.py bench`.

Each scenario builds its own data on an in-process Graph emulator and in a throwaway database
(devtools.bench.world) and returns Figures: a measured value beside its target. Ratios within
one run are the robust figures; absolute times are indicative only.
"""
