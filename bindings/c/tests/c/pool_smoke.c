/* Mines on the pool (or node) named on the command line through the C
 * ABI, the way a C daemon would: start, wait for accepted shares (blocks on
 * a node), read pool and device statistics, free. Exit status 0 when every
 * check passes. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hashrig.h"

int main(int argc, char **argv) {
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: pool_smoke URL [USER [PASS]]\n");
        return 2;
    }
    const char *user = argc > 2 ? argv[2] : "c-worker";
    const char *pass = argc > 3 ? argv[3] : "x";
    hashrig_pool_miner *miner = NULL;
    if (hashrig_pool_start(HASHRIG_CPU_ON, 0, "no-scheme:1", "u", NULL, &miner) !=
            HASHRIG_ERR_ARGUMENT ||
        strstr(hashrig_last_error(), "scheme") == NULL) {
        fprintf(stderr, "FAIL: a bad URL: %s\n", hashrig_last_error());
        return 1;
    }
    /* What the CLI refuses at once, refused the same way with the argument
     * code: a node's payout address that is no address, and a Stratum V2
     * pool without its authority key. */
    if (hashrig_pool_start(HASHRIG_CPU_ON, 0, "http://127.0.0.1:1", "notanaddress", NULL, &miner) !=
            HASHRIG_ERR_ARGUMENT ||
        strstr(hashrig_last_error(), "address") == NULL) {
        fprintf(stderr, "FAIL: a bad payout address: %s\n", hashrig_last_error());
        return 1;
    }
    if (hashrig_pool_start(HASHRIG_CPU_ON, 0, "stratum2+tcp://127.0.0.1:1", "u", NULL, &miner) !=
            HASHRIG_ERR_ARGUMENT ||
        strstr(hashrig_last_error(), "authority key") == NULL) {
        fprintf(stderr, "FAIL: a V2 pool without its key: %s\n", hashrig_last_error());
        return 1;
    }
    int32_t rc = hashrig_pool_start(HASHRIG_CPU_ON, 0, argv[1], user, pass, &miner);
    if (rc != HASHRIG_OK) {
        fprintf(stderr, "FAIL: hashrig_pool_start: %d %s\n", rc, hashrig_last_error());
        return 1;
    }
    hashrig_pool_stats stats;
    memset(&stats, 0, sizeof stats);
    time_t until = time(NULL) + 120;
    while (time(NULL) < until) {
        if (hashrig_pool_stats_get(miner, 0, &stats) != HASHRIG_OK) {
            fprintf(stderr, "FAIL: stats: %s\n", hashrig_last_error());
            return 1;
        }
        if (stats.accepted >= 2) break;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    int failures = 0;
    if (stats.accepted < 2) { fprintf(stderr, "FAIL: %llu accepted\n", (unsigned long long)stats.accepted); failures++; }
    if (stats.state != HASHRIG_POOL_MINING) { fprintf(stderr, "FAIL: state %d\n", stats.state); failures++; }
    if (strcmp(stats.url, argv[1]) != 0) { fprintf(stderr, "FAIL: url %s\n", stats.url); failures++; }
    if (!(stats.difficulty > 0)) { fprintf(stderr, "FAIL: difficulty %f\n", stats.difficulty); failures++; }
    if (hashrig_pool_stats_get(miner, 1, &stats) != HASHRIG_ERR_ARGUMENT) { fprintf(stderr, "FAIL: pool 1 exists\n"); failures++; }
    const hashrig_engine *engine = hashrig_pool_engine(miner);
    size_t devices = 0;
    hashrig_device_stats d;
    if (hashrig_device_count(engine, &devices) != HASHRIG_OK || devices < 1 ||
        hashrig_device_stats_get(engine, 0, &d) != HASHRIG_OK || d.hashes == 0) {
        fprintf(stderr, "FAIL: device statistics\n");
        failures++;
    }
    printf("accepted %llu rejected %llu rtt %.2f ms on %s\n", (unsigned long long)stats.accepted,
           (unsigned long long)stats.rejected, stats.rtt_ms, d.name);
    hashrig_pool_free(miner);
    hashrig_pool_free(NULL);
    if (failures == 0) printf("all checks passed\n");
    return failures == 0 ? 0 : 1;
}
