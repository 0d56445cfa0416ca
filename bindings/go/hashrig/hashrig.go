// Package hashrig runs hashrig's SHA-256d engine from Go through its C ABI
// (src/capi/hashrig.h): mine headers, mine on a Stratum pool, read
// statistics. Every solution and share is verified on the CPU reference
// before Go sees it.
//
// Build hashrig first (cargo build --release) and point cgo at the shared
// library:
//
//	CGO_LDFLAGS="-L/path/to/hashrig/target/release -Wl,-rpath,/path/to/hashrig/target/release" go build
package hashrig

/*
#cgo CFLAGS: -I${SRCDIR}/../../../src/capi
#cgo LDFLAGS: -lhashrig
#include <stdlib.h>
#include "hashrig.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"time"
	"unsafe"
)

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

// call runs f on one OS thread, so that the C library's per-thread error
// message belongs to this call.
func call(f func() C.int32_t) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rc := f()
	if rc >= C.HASHRIG_OK {
		return nil
	}
	return fmt.Errorf("hashrig: %s (code %d)", C.GoString(C.hashrig_last_error()), int32(rc))
}

// Engine runs header jobs on every selected device.
type Engine struct{ p *C.hashrig_engine }

// NewEngine starts an engine.
func NewEngine(cpu CPU, gpus bool) (*Engine, error) {
	var p *C.hashrig_engine
	err := call(func() C.int32_t { return C.hashrig_engine_new(C.int32_t(cpu), cbool(gpus), &p) })
	if err != nil {
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
	err := call(func() C.int32_t {
		return C.hashrig_submit_header(e.p, (*C.uint8_t)(unsafe.Pointer(&header[0])), t,
			C.uint64_t(start), C.uint64_t(count), &job)
	})
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
	var rc C.int32_t
	err := call(func() C.int32_t {
		rc = C.hashrig_poll_solution(e.p, C.uint32_t(timeout.Milliseconds()), &s)
		return rc
	})
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
	if err := call(func() C.int32_t { return C.hashrig_device_count(p, &n) }); err != nil {
		return nil, err
	}
	out := make([]DeviceStats, 0, int(n))
	for i := 0; i < int(n); i++ {
		var d C.hashrig_device_stats
		if err := call(func() C.int32_t { return C.hashrig_device_stats_get(p, C.size_t(i), &d) }); err != nil {
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

// PoolMiner mines on a Stratum v1 pool.
type PoolMiner struct{ p *C.hashrig_pool_miner }

// StartPool starts an engine and mines on the pool at url
// (stratum+tcp://host:port or stratum+ssl://host:port) as user.
func StartPool(cpu CPU, gpus bool, url, user, pass string) (*PoolMiner, error) {
	cu, cn, cp := C.CString(url), C.CString(user), C.CString(pass)
	defer C.free(unsafe.Pointer(cu))
	defer C.free(unsafe.Pointer(cn))
	defer C.free(unsafe.Pointer(cp))
	var p *C.hashrig_pool_miner
	err := call(func() C.int32_t { return C.hashrig_pool_start(C.int32_t(cpu), cbool(gpus), cu, cn, cp, &p) })
	if err != nil {
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

// Stats reads the pool's statistics.
func (m *PoolMiner) Stats() (PoolStats, error) {
	var s C.hashrig_pool_stats
	if err := call(func() C.int32_t { return C.hashrig_pool_stats_get(m.p, 0, &s) }); err != nil {
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
