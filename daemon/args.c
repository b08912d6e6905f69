#include "args.h"

#include <getopt.h>
#include <stdio.h>

bool mpic_daemon_args(int argc, char **argv, const char *program, const char **config, bool *check_only,
                      int *exit_status)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "check", no_argument, NULL, 't' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt;
    *config = NULL;
    *check_only = false;
    while ((opt = getopt_long(argc, argv, "c:tVh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': *config = optarg; break;
        case 't': *check_only = true; break;
        case 'V':
            printf("%s %s\n", program, MPIC_VERSION);
            *exit_status = 0;
            return false;
        default:
            fprintf(stderr, "usage: %s -c CONFIG [-t]\n"
                            "  -c, --config CONFIG  configuration file (mpic.conf(5), docs/config.md)\n"
                            "  -t, --check          check the configuration and exit\n"
                            "  -V, --version        print the version and exit\n", program);
            *exit_status = opt == 'h' ? 0 : 2;
            return false;
        }
    }
    if (*config == NULL || optind != argc) {
        fprintf(stderr, "usage: %s -c CONFIG [-t]\n", program);
        *exit_status = 2;
        return false;
    }
    return true;
}
