/* fuzz.h — what every libFuzzer target in fuzz/ shares.
 *
 * Each fuzz_<name>.c defines LLVMFuzzerTestOneInput (and, when it needs a
 * set-up, LLVMFuzzerInitialize); the prototypes are here so that the
 * project's -Wmissing-prototypes holds for them too. fuzz/README.md says
 * how to build, run and replay them.
 */
#ifndef KIP_FUZZ_H
#define KIP_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A private directory for the target's files, made on first use and
 * removed at exit: under /dev/shm when it exists (no disk writes),
 * else under /tmp. Exits the process if it cannot be made. */
const char *fuzz_tmpdir(void);

/* Writes DATA to PATH (created 0600, truncated); 0 or -1. */
int fuzz_write_file(const char *path, const void *data, size_t size);

/* Silences the daemon's log below LOG_CRIT, so that the fuzzer's own
 * output stays readable; KIP_FUZZ_LOG=debug keeps everything. */
void fuzz_quiet_log(void);

#endif
