// How much of a workload's log a node keeps unless told otherwise; `aurae up --help` shows the same numbers.

/** Defaults: a log file rotates at this size, and this many files are kept, the live one included.
 * 5 × 20 MiB keeps the whole output of a million-line workload (about 48 MB of records). */
export const LOG_MAX_BYTES = 20 * 1024 * 1024
export const LOG_FILES = 5
