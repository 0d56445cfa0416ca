/*
 * hashrig C ABI: the engine for daemons written in C, Go (cgo) or anything
 * with a C foreign-function interface. Link with -lhashrig_c (the cdylib).
 *
 * Every function returns a status code; on failure hashrig_last_error()
 * gives a message for the calling thread. No Rust panic crosses this
 * boundary: an internal failure is HASHRIG_ERR_INTERNAL.
 *
 * The message belongs to the OS thread that made the failing call. A
 * runtime that moves its threads of control between OS threads between
 * two foreign calls (Go's goroutines) must read it in the same foreign
 * call: wrap each function in a small C function that calls it and, on a
 * negative status, copies the message out with hashrig_error_copy().
 * bindings/go does exactly this, without runtime.LockOSThread.
 */
#ifndef HASHRIG_H
#define HASHRIG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. */
#define HASHRIG_OK 0
#define HASHRIG_NONE 1             /* nothing to report within the timeout */
#define HASHRIG_EXHAUSTED 2        /* every nonce of a job was searched */
#define HASHRIG_ERR_ARGUMENT -1    /* a null pointer or an out-of-range value */
#define HASHRIG_ERR_INPUT -2       /* a bad header, target or nonce range */
#define HASHRIG_ERR_DEVICE -3      /* no device could be started */
#define HASHRIG_ERR_INTERNAL -4    /* a bug in hashrig, caught at the boundary */

/* Whether the CPU hashes beside the GPUs. */
#define HASHRIG_CPU_AUTO 0 /* only when no GPU is usable */
#define HASHRIG_CPU_ON 1
#define HASHRIG_CPU_OFF 2

/* Device states in hashrig_device_stats.state. */
#define HASHRIG_STATE_IDLE 0
#define HASHRIG_STATE_HASHING 1
#define HASHRIG_STATE_PAUSED 2
#define HASHRIG_STATE_FAILED 3
#define HASHRIG_STATE_HELD 4 /* held out of the work, for example too hot */
#define HASHRIG_STATE_RECOVERING 5 /* out of service, opened again after a backoff */

typedef struct hashrig_engine hashrig_engine;

typedef struct hashrig_solution {
    uint64_t job;     /* the id hashrig_submit_header returned */
    uint64_t nonce;
    uint8_t hash[32]; /* the block hash in display order (leading zeros first) */
    uint8_t header[80]; /* the header solved, nonce filled in */
    int32_t stale;    /* 1 when the job was replaced before this came in */
} hashrig_solution;

typedef struct hashrig_device_stats {
    char name[128];   /* NUL-terminated, cut to fit */
    int32_t state;    /* HASHRIG_STATE_* */
    double mhs_5s;
    double mhs_60s;
    double effective_mhs; /* implied by verified proofs of work */
    uint64_t hashes;
    uint64_t solutions;
    uint64_t stale;
    uint64_t hardware_errors;
} hashrig_device_stats;

/* How an engine starts. Fill with hashrig_options_init, then change what
 * you need; `size` lets later versions add fields. */
typedef struct hashrig_options {
    uint32_t size;        /* sizeof(hashrig_options), set by hashrig_options_init */
    int32_t cpu;          /* HASHRIG_CPU_* (default HASHRIG_CPU_AUTO) */
    int32_t gpus;         /* nonzero to use GPUs (default 1) */
    uint32_t cpu_threads; /* CPU hashing threads; 0: every core (one fewer beside GPUs) */
    uint32_t batch_ms;    /* GPU batch time in milliseconds, 1 to 2000; 0: the default, 20 */
    const char *devices;  /* GPU selectors as `hashrig --device` takes them,
                           * comma-separated ("0", "nvidia", "llvmpipe@gl");
                           * NULL: automatic */
    const char *cpu_kernel; /* a kernel name ("sha-ni", "avx512-pipelined",
                             * ...: `hashrig bench --help` lists them);
                             * NULL: the fastest here */
} hashrig_options;

/* Sets every field to its default. */
void hashrig_options_init(hashrig_options *options);

/* Mesa's Vulkan drivers print "error: XDG_RUNTIME_DIR is invalid or not set
   in the environment." twice whenever GPUs are listed in a process without
   that variable (services, containers). Call this first in main, before any
   other thread starts: where the variable is missing it points it at a
   private directory (0700) of this user's. Returns 1 if it set it, else 0. */
int32_t hashrig_set_runtime_dir(void);

/* Starts an engine as `options` say (copied; the strings may be freed
 * after the call). */
int32_t hashrig_engine_new_with(const hashrig_options *options, hashrig_engine **out);

/* Starts an engine. cpu: HASHRIG_CPU_*; gpus: nonzero to use GPUs.
 * The same as hashrig_engine_new_with with only those two options set. */
int32_t hashrig_engine_new(int32_t cpu, int32_t gpus, hashrig_engine **out);

/* Replaces the current job with an 80-byte header. target_be: 32 bytes,
 * most significant first, or NULL for the header's own nBits. count 0
 * searches from start to the end of the nonce space and then rolls the
 * header's time field; otherwise only [start, start + count). */
int32_t hashrig_submit_header(hashrig_engine *engine, const uint8_t *header80,
                              const uint8_t *target_be, uint64_t start,
                              uint64_t count, uint64_t *job_out);

/* Waits up to timeout_ms for a verified solution: HASHRIG_OK with *out
 * filled; HASHRIG_EXHAUSTED with out->job set when every nonce of that job
 * was searched (after all of its solutions); or HASHRIG_NONE. */
int32_t hashrig_poll_solution(hashrig_engine *engine, uint32_t timeout_ms,
                              hashrig_solution *out);

/* Number of devices. */
int32_t hashrig_device_count(const hashrig_engine *engine, size_t *out);

/* Statistics of device `index` (0 .. count - 1). */
int32_t hashrig_device_stats_get(const hashrig_engine *engine, size_t index,
                                 hashrig_device_stats *out);

/* Pause and resume hashing. */
int32_t hashrig_pause(hashrig_engine *engine);
int32_t hashrig_resume(hashrig_engine *engine);

/* Stops the devices and frees the engine. NULL is allowed. */
void hashrig_engine_free(hashrig_engine *engine);

/* ---- Mining on a pool (Stratum v1 or V2) or solo on a node ---- */

/* Pool states in hashrig_pool_stats.state. */
#define HASHRIG_POOL_IDLE 0
#define HASHRIG_POOL_CONNECTING 1
#define HASHRIG_POOL_MINING 2
#define HASHRIG_POOL_FAILED 3

typedef struct hashrig_pool_miner hashrig_pool_miner;

typedef struct hashrig_pool_stats {
    char url[256];     /* NUL-terminated, without password */
    int32_t state;     /* HASHRIG_POOL_* */
    double difficulty; /* the pool's last difficulty, 0 before one */
    uint64_t accepted;
    uint64_t rejected;
    uint64_t stale;    /* not submitted: the job had been replaced */
    uint64_t blocks;   /* shares that met the network target */
    double rtt_ms;     /* the last submit's round trip, 0 before one */
} hashrig_pool_stats;

/* Starts an engine (cpu: HASHRIG_CPU_*, gpus nonzero for GPUs) and mines
 * on the pool at url (stratum+tcp://host:port, stratum+ssl://..., or
 * Stratum V2's stratum2+tcp://host:port/AUTHORITY_KEY) as user (pass: NULL
 * for "x"). Solo on a node: url http://host:port (its RPC), user the payout
 * address, pass "cookie:PATH" or "rpcuser:rpcpassword" (NULL: the node's
 * default cookie). Every share and block is verified before it is
 * submitted; a pool or node that cannot be reached is retried. */
int32_t hashrig_pool_start(int32_t cpu, int32_t gpus, const char *url,
                           const char *user, const char *pass,
                           hashrig_pool_miner **out);

/* hashrig_pool_start with every engine option (see hashrig_options). */
int32_t hashrig_pool_start_with(const hashrig_options *options, const char *url,
                                const char *user, const char *pass,
                                hashrig_pool_miner **out);

/* One entry of a failover list: a url, user and pass as hashrig_pool_start
 * takes them (a pool's, or a node's with its payout address and
 * credentials). */
typedef struct hashrig_upstream {
    const char *url;
    const char *user;
    const char *pass; /* NULL: "x", or a node's default cookie */
} hashrig_upstream;

/* Mines on `count` (1 to 64) pools and nodes as one failover list, first
 * choice first; Stratum v1, Stratum V2 and nodes mix. A pool that cannot
 * be reached or keeps failing is left for the next, and the miner returns
 * to an earlier one once it works again. list[i] is pool i of
 * hashrig_pool_stats_get. */
int32_t hashrig_pool_start_list(const hashrig_options *options,
                                const hashrig_upstream *list, size_t count,
                                hashrig_pool_miner **out);

/* How many pools and nodes the miner's list holds. */
int32_t hashrig_pool_count(const hashrig_pool_miner *miner, size_t *out);

/* The miner's engine, for hashrig_device_count and
 * hashrig_device_stats_get (do not poll solutions on it: the miner takes
 * them). Valid until hashrig_pool_free. */
const hashrig_engine *hashrig_pool_engine(const hashrig_pool_miner *miner);

/* Statistics of pool `index` (0 for the one pool given; the list's order
 * for hashrig_pool_start_list). */
int32_t hashrig_pool_stats_get(const hashrig_pool_miner *miner, size_t index,
                               hashrig_pool_stats *out);

/* Stops mining, waits up to two seconds for the pool's answers to shares
 * in flight, and frees the miner and its engine. NULL is allowed. */
void hashrig_pool_free(hashrig_pool_miner *miner);

/* The calling thread's last error message ("" if none). Valid until the
 * thread's next hashrig call. */
const char *hashrig_last_error(void);

/* Copies the calling thread's last error message into buf, NUL-terminated
 * and cut to len - 1 bytes (nothing is written when len is 0); returns the
 * message's whole length in bytes. */
size_t hashrig_error_copy(char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* HASHRIG_H */
