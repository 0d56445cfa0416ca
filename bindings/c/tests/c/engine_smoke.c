/* Drives the C ABI the way a daemon would: bad input gives codes and
 * messages, the genesis block is found at its real target, statistics are
 * read, and the engine is freed. Exit status 0 when every check passes. */
#include <stdio.h>
#include <string.h>

#include "hashrig.h"

static int failures = 0;

#define CHECK(cond, ...)                         \
    do {                                         \
        if (!(cond)) {                           \
            fprintf(stderr, "FAIL line %d: ", __LINE__); \
            fprintf(stderr, __VA_ARGS__);        \
            fprintf(stderr, "\n");               \
            failures++;                          \
        }                                        \
    } while (0)

static int unhex(const char *hex, uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

int main(void) {
    const char *genesis_hex =
        "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";
    uint8_t header[80];
    unhex(genesis_hex, header, 80);

    CHECK(hashrig_engine_new(0, 0, NULL) == HASHRIG_ERR_ARGUMENT, "null out accepted");
    CHECK(strstr(hashrig_last_error(), "null") != NULL, "message: %s", hashrig_last_error());

    hashrig_engine *engine = NULL;
    int32_t rc = hashrig_engine_new(HASHRIG_CPU_ON, 0, &engine);
    CHECK(rc == HASHRIG_OK && engine != NULL, "engine_new: %d %s", rc, hashrig_last_error());
    if (engine == NULL) return 1;

    uint8_t zero[32] = {0};
    uint64_t job = 0;
    rc = hashrig_submit_header(engine, header, zero, 0, 1000, &job);
    CHECK(rc == HASHRIG_ERR_INPUT, "zero target accepted: %d", rc);
    CHECK(strlen(hashrig_last_error()) > 0, "no message for the zero target");
    rc = hashrig_submit_header(engine, header, NULL, 4294967000u, 1000, &job);
    CHECK(rc == HASHRIG_ERR_INPUT, "range past 2^32 accepted: %d", rc);

    /* The genesis block at its own nBits, in a window around its nonce. */
    rc = hashrig_submit_header(engine, header, NULL, 2083236893u - 200000, 300000, &job);
    CHECK(rc == HASHRIG_OK && job > 0, "submit: %d %s", rc, hashrig_last_error());
    hashrig_solution s;
    rc = hashrig_poll_solution(engine, 30000, &s);
    CHECK(rc == HASHRIG_OK, "no solution: %d", rc);
    CHECK(s.nonce == 2083236893u, "nonce %llu", (unsigned long long)s.nonce);
    CHECK(s.job == job && s.stale == 0, "job %llu stale %d", (unsigned long long)s.job, s.stale);
    CHECK(s.hash[0] == 0 && s.hash[1] == 0 && s.hash[2] == 0 && s.hash[3] == 0 && s.hash[4] == 0 && s.hash[5] == 0x19 && s.hash[6] == 0xd6,
          "hash starts %02x%02x%02x%02x%02x%02x", s.hash[0], s.hash[1], s.hash[2], s.hash[3], s.hash[4], s.hash[5]);
    CHECK(memcmp(s.header, header, 80) == 0, "solved header differs");
    /* Then the job's end: every nonce of the window was searched. */
    rc = hashrig_poll_solution(engine, 30000, &s);
    CHECK(rc == HASHRIG_EXHAUSTED && s.job == job, "no end of the job: %d job %llu", rc,
          (unsigned long long)s.job);

    size_t count = 0;
    CHECK(hashrig_device_count(engine, &count) == HASHRIG_OK && count == 1, "count %zu", count);
    hashrig_device_stats st;
    CHECK(hashrig_device_stats_get(engine, 0, &st) == HASHRIG_OK, "stats");
    CHECK(strncmp(st.name, "cpu", 3) == 0, "name %s", st.name);
    CHECK(st.hashes > 0 && st.solutions == 1 && st.hardware_errors == 0,
          "hashes %llu solutions %llu", (unsigned long long)st.hashes, (unsigned long long)st.solutions);
    CHECK(hashrig_device_stats_get(engine, 5, &st) == HASHRIG_ERR_ARGUMENT, "index 5 accepted");

    CHECK(hashrig_pause(engine) == HASHRIG_OK, "pause");
    CHECK(hashrig_resume(engine) == HASHRIG_OK, "resume");
    hashrig_engine_free(engine);
    hashrig_engine_free(NULL);

    /* Options: every field checked, each with its own message. */
    hashrig_options o;
    hashrig_options_init(&o);
    CHECK(o.size == sizeof o && o.gpus == 1 && o.cpu == HASHRIG_CPU_AUTO, "defaults");
    hashrig_options bad = o;
    bad.size = 8;
    CHECK(hashrig_engine_new_with(&bad, &engine) == HASHRIG_ERR_ARGUMENT, "size 8 accepted");
    CHECK(strstr(hashrig_last_error(), "options.size") != NULL, "message: %s", hashrig_last_error());
    bad = o;
    bad.cpu_kernel = "avx9000";
    CHECK(hashrig_engine_new_with(&bad, &engine) == HASHRIG_ERR_ARGUMENT, "kernel avx9000 accepted");
    CHECK(strstr(hashrig_last_error(), "cpu_kernel") != NULL, "message: %s", hashrig_last_error());
    bad = o;
    bad.cpu_threads = 1000000;
    CHECK(hashrig_engine_new_with(&bad, &engine) == HASHRIG_ERR_ARGUMENT, "a million threads accepted");
    bad = o;
    bad.devices = " , ";
    CHECK(hashrig_engine_new_with(&bad, &engine) == HASHRIG_ERR_ARGUMENT, "no selector accepted");
    CHECK(strstr(hashrig_last_error(), "devices") != NULL, "message: %s", hashrig_last_error());
    bad = o;
    bad.gpus = 1;
    bad.cpu = HASHRIG_CPU_OFF;
    bad.devices = "no-such-adapter";
    CHECK(hashrig_engine_new_with(&bad, &engine) == HASHRIG_ERR_DEVICE, "unknown adapter accepted");
    CHECK(strstr(hashrig_last_error(), "no-such-adapter") != NULL, "message: %s", hashrig_last_error());

    /* hashrig_error_copy: the whole length, a cut copy, nothing for len 0. */
    char small[8];
    size_t whole = hashrig_error_copy(small, sizeof small);
    CHECK(whole == strlen(hashrig_last_error()) && whole > 7, "length %zu", whole);
    CHECK(strlen(small) == 7 && strncmp(small, hashrig_last_error(), 7) == 0, "copy %s", small);
    CHECK(hashrig_error_copy(NULL, 0) == whole, "len 0");

    /* Two CPU threads, the portable kernel, 50 ms batches: still finds the
     * genesis nonce. */
    o.gpus = 0;
    o.cpu = HASHRIG_CPU_ON;
    o.cpu_threads = 2;
    o.cpu_kernel = "scalar";
    o.batch_ms = 50;
    rc = hashrig_engine_new_with(&o, &engine);
    CHECK(rc == HASHRIG_OK && engine != NULL, "engine_new_with: %d %s", rc, hashrig_last_error());
    if (engine == NULL) return 1;
    rc = hashrig_submit_header(engine, header, NULL, 2083236893u - 1000, 2000, &job);
    CHECK(rc == HASHRIG_OK, "submit: %d", rc);
    rc = hashrig_poll_solution(engine, 30000, &s);
    CHECK(rc == HASHRIG_OK && s.nonce == 2083236893u, "options engine: %d nonce %llu", rc,
          (unsigned long long)s.nonce);
    hashrig_engine_free(engine);
    if (failures == 0) printf("c api: all checks passed\n");
    return failures == 0 ? 0 : 1;
}
