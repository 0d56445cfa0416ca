// Package hashrig runs hashrig's SHA-256d engine from Go through its C ABI
// (bindings/c/hashrig.h): mine headers, mine on a Stratum pool, read
// statistics. Every solution and share is verified on the CPU reference
// before Go sees it.
//
// Build hashrig first (cargo build --release) and point cgo at the shared
// library:
//
//	CGO_LDFLAGS="-L/path/to/hashrig/target/release -Wl,-rpath,/path/to/hashrig/target/release" go build
package hashrig

/*
#cgo CFLAGS: -I${SRCDIR}/../../c
#cgo LDFLAGS: -lhashrig_c
#include <stdlib.h>
#include "hashrig.h"

// Each wrapper makes its call and, when it fails, copies the message out
// in the same cgo call: on the OS thread whose message it is, whichever
// thread the goroutine runs on next.
#define ERR_LEN 512
#define WITH_ERR(call) { int32_t rc = (call); if (rc < 0) hashrig_error_copy(err, ERR_LEN); return rc; }
static int32_t go_engine_new_with(const hashrig_options *o, hashrig_engine **out, char *err)
	WITH_ERR(hashrig_engine_new_with(o, out))
static int32_t go_submit_header(hashrig_engine *e, const uint8_t *h, const uint8_t *t,
		uint64_t start, uint64_t count, uint64_t *job, char *err)
	WITH_ERR(hashrig_submit_header(e, h, t, start, count, job))
static int32_t go_poll_solution(hashrig_engine *e, uint32_t ms, hashrig_solution *s, char *err)
	WITH_ERR(hashrig_poll_solution(e, ms, s))
static int32_t go_device_count(const hashrig_engine *e, size_t *n, char *err)
	WITH_ERR(hashrig_device_count(e, n))
static int32_t go_device_stats_get(const hashrig_engine *e, size_t i, hashrig_device_stats *d, char *err)
	WITH_ERR(hashrig_device_stats_get(e, i, d))
static int32_t go_pool_start_with(const hashrig_options *o, const char *url, const char *user,
		const char *pass, hashrig_pool_miner **out, char *err)
	WITH_ERR(hashrig_pool_start_with(o, url, user, pass, out))
static int32_t go_pool_start_list(const hashrig_options *o, const hashrig_upstream *list, size_t n,
		hashrig_pool_miner **out, char *err)
	WITH_ERR(hashrig_pool_start_list(o, list, n, out))
static int32_t go_pool_count(const hashrig_pool_miner *m, size_t *n, char *err)
	WITH_ERR(hashrig_pool_count(m, n))
static int32_t go_pool_stats_get(const hashrig_pool_miner *m, size_t i, hashrig_pool_stats *s, char *err)
	WITH_ERR(hashrig_pool_stats_get(m, i, s))
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"
)

// Mesa's Vulkan drivers print "error: XDG_RUNTIME_DIR is invalid or not set
// in the environment." whenever GPUs are listed in a process without that
// variable (services, containers). The package points it at a private
// directory where it is missing, when it is initialised: before main, while
// nothing else in the process reads the C environment.
func init() {
	C.hashrig_set_runtime_dir()
}

// CPU says whether the CPU hashes beside the GPUs.
type CPU int32

const (
	// CPUAuto hashes on the CPU only when no GPU is usable.
	CPUAuto CPU = C.HASHRIG_CPU_AUTO
	// CPUOn always hashes on the CPU.
	CPUOn CPU = C.HASHRIG_CPU_ON
	// CPUOff never hashes on the CPU.
	CPUOff CPU = C.HASHRIG_CPU_OFF
)

// errBuf receives a failed call's message from its C wrapper.
type errBuf [C.ERR_LEN]C.char

func (b *errBuf) ptr() *C.char { return &b[0] }

// check turns a status code and its message into an error.
func check(rc C.int32_t, b *errBuf) error {
	if rc >= C.HASHRIG_OK {
		return nil
	}
	return fmt.Errorf("hashrig: %s (code %d)", C.GoString(b.ptr()), int32(rc))
}

// Engine runs header jobs on every selected device.
type Engine struct{ p *C.hashrig_engine }

// Options say how an engine starts; the zero value of each field means
// its default.
type Options struct {
	CPU        CPU
	NoGPUs     bool          // hash on the CPU only
	CPUThreads int           // CPU hashing threads (default: every core)
	BatchTime  time.Duration // GPU batch time (default 20 ms), whole milliseconds
	Devices    []string      // GPU selectors ("0", "nvidia", "llvmpipe@gl"); default automatic
	CPUKernel  string        // a name from `hashrig bench --help`, such as "avx512-pipelined"; "" for the fastest measured
}

// cOptions fills a hashrig_options; free releases its strings.
func cOptions(o Options) (opts C.hashrig_options, free func(), err error) {
	free = func() {}
	C.hashrig_options_init(&opts)
	opts.cpu = C.int32_t(o.CPU)
	opts.gpus = cbool(!o.NoGPUs)
	if o.CPUThreads < 0 || o.CPUThreads > 1<<20 {
		return opts, free, fmt.Errorf("hashrig: CPUThreads %d is out of range", o.CPUThreads)
	}
	opts.cpu_threads = C.uint32_t(o.CPUThreads)
	if o.BatchTime < 0 || o.BatchTime > 10*time.Second {
		return opts, free, fmt.Errorf("hashrig: BatchTime %v is out of range", o.BatchTime)
	}
	opts.batch_ms = C.uint32_t(o.BatchTime.Milliseconds())
	var strs []*C.char
	if len(o.Devices) > 0 {
		opts.devices = C.CString(strings.Join(o.Devices, ","))
		strs = append(strs, opts.devices)
	}
	if o.CPUKernel != "" {
		opts.cpu_kernel = C.CString(o.CPUKernel)
		strs = append(strs, opts.cpu_kernel)
	}
	return opts, func() {
		for _, p := range strs {
			C.free(unsafe.Pointer(p))
		}
	}, nil
}

// NewEngine starts an engine.
func NewEngine(cpu CPU, gpus bool) (*Engine, error) {
	return NewEngineWith(Options{CPU: cpu, NoGPUs: !gpus})
}

// NewEngineWith starts an engine with every option.
func NewEngineWith(o Options) (*Engine, error) {
	opts, free, err := cOptions(o)
	defer free()
	if err != nil {
		return nil, err
	}
	var p *C.hashrig_engine
	var e errBuf
	if err := check(C.go_engine_new_with(&opts, &p, e.ptr()), &e); err != nil {
		return nil, err
	}
	return &Engine{p}, nil
}

func cbool(b bool) C.int32_t {
	if b {
		return 1
	}
	return 0
}

// SubmitHeader replaces the current job with an 80-byte header. A nil
// target means the header's own nBits; count 0 searches from start to the
// end of the nonce space and then rolls the header's time.
func (e *Engine) SubmitHeader(header [80]byte, target *[32]byte, start, count uint64) (uint64, error) {
	var job C.uint64_t
	var t *C.uint8_t
	if target != nil {
		t = (*C.uint8_t)(unsafe.Pointer(&target[0]))
	}
	var eb errBuf
	err := check(C.go_submit_header(e.p, (*C.uint8_t)(unsafe.Pointer(&header[0])), t,
		C.uint64_t(start), C.uint64_t(count), &job, eb.ptr()), &eb)
	return uint64(job), err
}

// Solution is a verified solution.
type Solution struct {
	Job    uint64
	Nonce  uint64
	Hash   [32]byte // display order
	Header [80]byte
	Stale  bool
	// Exhausted: not a solution but the end of job Job, every nonce of it
	// searched (it comes after all of the job's solutions).
	Exhausted bool
}

// PollSolution waits up to timeout for a solution or a job's end; nil
// when neither came.
func (e *Engine) PollSolution(timeout time.Duration) (*Solution, error) {
	var s C.hashrig_solution
	var eb errBuf
	rc := C.go_poll_solution(e.p, C.uint32_t(timeout.Milliseconds()), &s, eb.ptr())
	err := check(rc, &eb)
	if err != nil || rc == C.HASHRIG_NONE {
		return nil, err
	}
	if rc == C.HASHRIG_EXHAUSTED {
		return &Solution{Job: uint64(s.job), Exhausted: true}, nil
	}
	out := &Solution{Job: uint64(s.job), Nonce: uint64(s.nonce), Stale: s.stale != 0}
	for i := range out.Hash {
		out.Hash[i] = byte(s.hash[i])
	}
	for i := range out.Header {
		out.Header[i] = byte(s.header[i])
	}
	return out, nil
}

// DeviceStats are one device's figures.
type DeviceStats struct {
	Name           string
	State          int32
	MHs5s          float64
	MHs60s         float64
	EffectiveMHs   float64
	Hashes         uint64
	Solutions      uint64
	Stale          uint64
	HardwareErrors uint64
}

func devices(p *C.hashrig_engine) ([]DeviceStats, error) {
	var n C.size_t
	var eb errBuf
	if err := check(C.go_device_count(p, &n, eb.ptr()), &eb); err != nil {
		return nil, err
	}
	out := make([]DeviceStats, 0, int(n))
	for i := 0; i < int(n); i++ {
		var d C.hashrig_device_stats
		if err := check(C.go_device_stats_get(p, C.size_t(i), &d, eb.ptr()), &eb); err != nil {
			return nil, err
		}
		out = append(out, DeviceStats{
			Name: C.GoString(&d.name[0]), State: int32(d.state),
			MHs5s: float64(d.mhs_5s), MHs60s: float64(d.mhs_60s), EffectiveMHs: float64(d.effective_mhs),
			Hashes: uint64(d.hashes), Solutions: uint64(d.solutions), Stale: uint64(d.stale),
			HardwareErrors: uint64(d.hardware_errors),
		})
	}
	return out, nil
}

// Devices reads every device's statistics.
func (e *Engine) Devices() ([]DeviceStats, error) { return devices(e.p) }

// Close stops the devices and frees the engine.
func (e *Engine) Close() {
	C.hashrig_engine_free(e.p)
	e.p = nil
}

// PoolMiner mines on a pool (Stratum v1 or V2), solo on a node, or on a
// failover list of them.
type PoolMiner struct{ p *C.hashrig_pool_miner }

// StartPool starts an engine and mines on the pool at url
// (stratum+tcp://host:port, stratum+ssl://host:port or
// stratum2+tcp://host:port/AUTHORITY_KEY) as user; or solo on the node at
// an http:// url, user being the payout address and pass "cookie:PATH" or
// "rpcuser:rpcpassword". An empty pass is the default: "x" for a pool, the
// node's default cookie for a node.
func StartPool(cpu CPU, gpus bool, url, user, pass string) (*PoolMiner, error) {
	return StartPoolWith(Options{CPU: cpu, NoGPUs: !gpus}, url, user, pass)
}

// StartPoolWith is StartPool with every engine option.
func StartPoolWith(o Options, url, user, pass string) (*PoolMiner, error) {
	opts, free, err := cOptions(o)
	defer free()
	if err != nil {
		return nil, err
	}
	cu, cn, cp := C.CString(url), C.CString(user), cPass(pass)
	defer C.free(unsafe.Pointer(cu))
	defer C.free(unsafe.Pointer(cn))
	defer C.free(unsafe.Pointer(cp))
	var p *C.hashrig_pool_miner
	var eb errBuf
	if err := check(C.go_pool_start_with(&opts, cu, cn, cp, &p, eb.ptr()), &eb); err != nil {
		return nil, err
	}
	return &PoolMiner{p}, nil
}

// Upstream is one entry of a failover list: a url, user and pass as
// StartPool takes them.
type Upstream struct{ URL, User, Pass string }

// cPass is pass for C: nil for "" (the default: "x" for a pool, the
// node's default cookie for a node). C.free takes nil.
func cPass(pass string) *C.char {
	if pass == "" {
		return nil
	}
	return C.CString(pass)
}

// StartPools starts an engine and mines on the pools and nodes of list as
// one failover list, first choice first (Stratum v1, V2 and nodes mix); a
// pool that keeps failing is left for the next, and the miner returns to
// an earlier one once it works again. StatsOf(i) reads list[i].
func StartPools(o Options, list []Upstream) (*PoolMiner, error) {
	opts, free, err := cOptions(o)
	defer free()
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errors.New("hashrig: no pool or node given")
	}
	// The list lives in C's memory, so that it may hold C strings.
	first := (*C.hashrig_upstream)(C.malloc(C.size_t(len(list)) * C.sizeof_hashrig_upstream))
	defer C.free(unsafe.Pointer(first))
	entries := unsafe.Slice(first, len(list))
	for i, u := range list {
		entries[i].url, entries[i].user, entries[i].pass = C.CString(u.URL), C.CString(u.User), cPass(u.Pass)
		defer C.free(unsafe.Pointer(entries[i].url))
		defer C.free(unsafe.Pointer(entries[i].user))
		defer C.free(unsafe.Pointer(entries[i].pass))
	}
	var p *C.hashrig_pool_miner
	var eb errBuf
	if err := check(C.go_pool_start_list(&opts, first, C.size_t(len(list)), &p, eb.ptr()), &eb); err != nil {
		return nil, err
	}
	return &PoolMiner{p}, nil
}

// PoolStats are the pool's figures.
type PoolStats struct {
	URL                               string
	State                             int32
	Difficulty                        float64
	Accepted, Rejected, Stale, Blocks uint64
	RTT                               time.Duration
}

// Stats reads the statistics of the pool (the first of a list).
func (m *PoolMiner) Stats() (PoolStats, error) { return m.StatsOf(0) }

// Pools says how many pools and nodes the miner's list holds.
func (m *PoolMiner) Pools() (int, error) {
	var n C.size_t
	var eb errBuf
	if err := check(C.go_pool_count(m.p, &n, eb.ptr()), &eb); err != nil {
		return 0, err
	}
	return int(n), nil
}

// StatsOf reads the statistics of the list's pool i.
func (m *PoolMiner) StatsOf(i int) (PoolStats, error) {
	if i < 0 {
		return PoolStats{}, fmt.Errorf("hashrig: pool %d", i)
	}
	var s C.hashrig_pool_stats
	var eb errBuf
	if err := check(C.go_pool_stats_get(m.p, C.size_t(i), &s, eb.ptr()), &eb); err != nil {
		return PoolStats{}, err
	}
	return PoolStats{
		URL: C.GoString(&s.url[0]), State: int32(s.state), Difficulty: float64(s.difficulty),
		Accepted: uint64(s.accepted), Rejected: uint64(s.rejected), Stale: uint64(s.stale),
		Blocks: uint64(s.blocks), RTT: time.Duration(float64(s.rtt_ms) * float64(time.Millisecond)),
	}, nil
}

// Devices reads every device's statistics.
func (m *PoolMiner) Devices() ([]DeviceStats, error) {
	p := C.hashrig_pool_engine(m.p)
	if p == nil {
		return nil, errors.New("hashrig: closed")
	}
	return devices((*C.hashrig_engine)(unsafe.Pointer(p)))
}

// Close stops mining (answers to shares in flight are awaited up to two
// seconds) and frees everything.
func (m *PoolMiner) Close() {
	C.hashrig_pool_free(m.p)
	m.p = nil
}
