/* Mines on a failover list given on the command line as URL USER PASS
 * triples (PASS "-" for NULL), the way a C daemon with backup pools would:
 * every entry before the last is down, so the miner must fail over along
 * the list to the last and have shares accepted there. Exit status 0 when
 * every check passes. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hashrig.h"

int main(int argc, char **argv) {
    if (argc < 4 || (argc - 1) % 3 != 0 || (argc - 1) / 3 > 8) {
        fprintf(stderr, "usage: pool_list_smoke URL USER PASS [URL USER PASS]...\n");
        return 2;
    }
    size_t n = (size_t)(argc - 1) / 3;
    hashrig_upstream list[8];
    for (size_t i = 0; i < n; i++) {
        list[i].url = argv[1 + 3 * i];
        list[i].user = argv[2 + 3 * i];
        list[i].pass = strcmp(argv[3 + 3 * i], "-") == 0 ? NULL : argv[3 + 3 * i];
    }
    hashrig_options options;
    hashrig_options_init(&options);
    options.cpu = HASHRIG_CPU_ON;
    options.gpus = 0;
    options.cpu_threads = 1;
    int failures = 0;
    hashrig_pool_miner *miner = NULL;
    /* Bad lists: none, and an entry without a URL. */
    if (hashrig_pool_start_list(&options, list, 0, &miner) != HASHRIG_ERR_ARGUMENT) {
        fprintf(stderr, "FAIL: an empty list was taken\n");
        failures++;
    }
    hashrig_upstream holed[2] = {list[0], {NULL, "u", NULL}};
    if (hashrig_pool_start_list(&options, holed, 2, &miner) != HASHRIG_ERR_ARGUMENT ||
        strstr(hashrig_last_error(), "list[1].url") == NULL) {
        fprintf(stderr, "FAIL: a list with a null URL: %s\n", hashrig_last_error());
        failures++;
    }
    int32_t rc = hashrig_pool_start_list(&options, list, n, &miner);
    if (rc != HASHRIG_OK) {
        fprintf(stderr, "FAIL: hashrig_pool_start_list: %d %s\n", rc, hashrig_last_error());
        return 1;
    }
    size_t count = 0;
    if (hashrig_pool_count(miner, &count) != HASHRIG_OK || count != n) {
        fprintf(stderr, "FAIL: %zu pools, %zu given\n", count, n);
        failures++;
    }
    hashrig_pool_stats last;
    memset(&last, 0, sizeof last);
    time_t until = time(NULL) + 120;
    while (time(NULL) < until) {
        if (hashrig_pool_stats_get(miner, n - 1, &last) != HASHRIG_OK) {
            fprintf(stderr, "FAIL: stats: %s\n", hashrig_last_error());
            return 1;
        }
        if (last.accepted >= 2) break;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (last.accepted < 2) { fprintf(stderr, "FAIL: %llu accepted on the last\n", (unsigned long long)last.accepted); failures++; }
    if (last.state != HASHRIG_POOL_MINING) { fprintf(stderr, "FAIL: the last's state %d\n", last.state); failures++; }
    if (strcmp(last.url, list[n - 1].url) != 0) { fprintf(stderr, "FAIL: the last's url %s\n", last.url); failures++; }
    for (size_t i = 0; i + 1 < n; i++) {
        hashrig_pool_stats s;
        if (hashrig_pool_stats_get(miner, i, &s) != HASHRIG_OK || strcmp(s.url, list[i].url) != 0 ||
            s.state == HASHRIG_POOL_MINING || s.accepted != 0) {
            fprintf(stderr, "FAIL: entry %zu (%s): state %d, %llu accepted\n", i, s.url, s.state,
                    (unsigned long long)s.accepted);
            failures++;
        }
    }
    hashrig_pool_stats beyond;
    if (hashrig_pool_stats_get(miner, n, &beyond) != HASHRIG_ERR_ARGUMENT) { fprintf(stderr, "FAIL: pool %zu exists\n", n); failures++; }
    printf("accepted %llu on %s, entry %zu of %zu\n", (unsigned long long)last.accepted, last.url, n - 1, n);
    hashrig_pool_free(miner);
    if (failures == 0) printf("all checks passed\n");
    return failures == 0 ? 0 : 1;
}
