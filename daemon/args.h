/* The command line both daemons share: -c CONFIG, -t, -V, -h. */
#ifndef MPIC_ARGS_H
#define MPIC_ARGS_H

#include <stdbool.h>

/* Parses "-c CONFIG [-t]" (and -V, -h). Returns true to go on; false after
 * printing the version or the usage, with *exit_status 0 for -V and -h and 2
 * for wrong arguments. */
bool mpic_daemon_args(int argc, char **argv, const char *program, const char **config, bool *check_only,
                      int *exit_status);

#endif
